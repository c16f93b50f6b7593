"""Simulated Bluetooth meters on the virtual BLE backend: what both share (`meter.py`), the blood-pressure
and glucose meters (`bp_meter.py`, `glucose_meter.py`) and the `hub sim bp|glucose` verbs (`component.py`)."""
