"""The cellular second path: a 4G modem (Quectel EC25 / SIMCom SIM7600 class) that texts the duty numbers
when an alarm cannot reach the platform over MQTT, and takes a responder's reply "1" as an
acknowledgement.

Entry point: `component.py` (`build`); the `[modem]` config section is in `schema.py`; the SMS wording
is `sms.py`, which alarms are texted and when `overdue.py`; `sim.py` runs a modem model on a real
pseudo-terminal and serves `hub sim modem ...`.
"""
