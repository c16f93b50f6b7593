"""baresip, the SIP user agent the hub drives for two-way speech (Debian package `baresip-core`).

The hub never speaks SIP or RTP itself: it runs baresip as a child process with a generated config
directory (`setup.py`), talks to it over its `ctrl_tcp` module — netstring-framed JSON on a loopback
TCP port, one client at a time (`control.py`, framing in `netstring.py`) — and supervises it
(`agent.py`). `registration.py` reads registration state (for `hub status` and `hub selftest`) and
`uri.py` compares caller identities. Checked against baresip 1.0.0 as packaged in Debian bookworm.
"""
