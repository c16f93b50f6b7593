"""Fall and inactivity detection on the unit, with the spoken check before an alarm; presence, the daily
check-in, door contacts and bed/chair mats.

One subpackage per detector: `fall/` and `inactivity/` each hold the pure detector (`detector.py`, fed
readings and time), the component that runs it in the hub (`component.py`, `build`) and its simulation
(`sim.py`: `hub sim fall|radar|inactivity`); `contacts/` (door contacts and mats, `hub sim door|mat`) and
`checkin/` (the daily "报平安" window) likewise. `evaluation/` runs the detectors over recorded data
(`hub eval`). `presence.py` decides whether the resident is at home; the config sections are in `schema.py`.
"""
