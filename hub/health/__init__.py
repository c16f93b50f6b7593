"""Bluetooth LE blood-pressure and glucose meters: download readings, grade them the way community
chronic-disease programmes do, and raise alerts for dangerous ones.

Entry point: `component.py` (`build`). Grading rules are `grading.py`; the `[ble]` and
`[health_grading]` sections are in `schema.py`; `sim/` runs virtual meters on the in-memory bleak
backend (`sim/bp_meter.py`, `sim/glucose_meter.py`) and serves `hub sim bp|glucose` (`sim/component.py`).
"""
