"""One-button calls: emergency, health consult, daily-life service and family, from press to the
platform's acknowledgement (raise, cancel by a long press, repeat, escalate); open calls are open alarms
of hub.alarms.registry, kept in the outbox database across restarts and power cuts.

Entry point: `manager.py` (the component; `build`). `buttons.py` debounces the call buttons on the pin
factory; `sim.py` is the simulation component behind `hub sim press`.
"""
