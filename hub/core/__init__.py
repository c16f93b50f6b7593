"""The coordinator and what every capability shares: the event flow, the durable outbox, the MQTT
uplink (`uplink/`), the control socket, clock, buttons and the hardware seams chosen at start-up. Speech
and the LEDs are `hub.speech`, certificates `hub.certificates`, open alarms and their cards `hub.alarms`.

Entry point: `app.py` (`Hub`, started by `hub run`) builds the components listed in `components.py`
and hands each a `context.HubContext`. Imports no capability package: components are named there as
"module:function" strings and imported lazily, so the coordinator wires capabilities that never see
each other.
"""
