"""The coordinator and what every capability shares: the event flow, the durable outbox, the MQTT
uplink, the control socket, clock, LEDs/buzzer feedback and the hardware seams chosen at start-up.

Entry point: `app.py` (`Hub`, started by `hub run`) builds the components listed in `components.py`
and hands each a `context.HubContext`. Imports no capability package: components are named there as
"module:function" strings and imported lazily, so the coordinator wires capabilities that never see
each other.
"""
