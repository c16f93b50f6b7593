"""Set-up mode: the unit's own Wi-Fi hotspot and a web page an installer opens on a phone (docs/install.md).

`label.py` (the set-up code and hotspot password printed on the unit), `hotspot.py` (NetworkManager's
nmcli), `guard.py` (code attempts, sessions, CSRF), `app.py` (the aiohttp page and its API, imported only in
set-up mode), `actions.py` (what the page does, through the same control commands as the CLI), `mode.py`
(entering and leaving: first boot, a 10 s hold at start, `hub setup-mode`, 30 minutes).
"""
