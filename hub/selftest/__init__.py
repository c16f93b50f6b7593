"""Self-test for technicians: checks every fitted part and says what to do about each failure.

Entry point: `run.py` (`run_automatic`, used by `hub selftest` when the hub is stopped) and
`component.py` (the same checks inside a running hub, over the control socket, since the hub owns the
GPIO lines). The checks are by kind: `gpio.py`, `i2c.py`, `system.py`, `links.py`, `mqtt.py`,
`voice.py`; the guided steps ("请按呼叫按钮") are `guided.py`; the result row is `model.py`.
"""
