"""Alarm records every capability shares: the open alarms that wait for the platform's ack, and the
context card added to every alarm event.

`registry.py` (`OpenAlarms`: open, acknowledge, cancel, close, reminders), `acknowledgement.py` (what an
ack commits and the name the resident hears) and `store.py` (the open-alarm table in the outbox database,
written in the transaction of its event); `card.py` (the context card:
`data.context`) and `sms_form.py` (its one-SMS short form for the cellular path and the escalation chain).
"""
