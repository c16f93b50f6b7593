"""What an SMS says: one UCS2 message (70 characters) a duty officer can act on from a phone's lock screen.

    【一键呼】紧急呼叫 R-0042 10:02 终端demo-0001 #5f3a9c21 回复1#5f3a确认

The alarm's kind first, then the resident reference (never a name: the platform knows who it is), the
time the alarm was raised, the hub id and the event id's first 8 characters, then as many facts of the
alarm's context card as fit (hub.alarms.sms_form); then how to acknowledge ("1", or "1#" and the code).
"""

from __future__ import annotations

from hub.alarms.sms_form import ACK_REPLY, KINDS, is_ack, kind_words, same_number, short_code, short_form, short_id
from hub.core.events import Event

__all__ = ["ACK_REPLY", "alarm_text", "is_ack", "kind_words", "same_number", "short_code", "short_id",
           "sms_worthy"]


def sms_worthy(event: Event) -> bool:
    """Which committed events are worth a text when the platform has not got them: what a person must act on."""
    return event.type == "call.raised" or (event.type in KINDS and event.type != "power.battery_low")


def alarm_text(event: Event, hub_id: str, resident_ref: str) -> str:
    """One UCS2 SMS: the head, as many facts of the alarm's context card as fit, how to acknowledge."""
    return short_form(event.type, event.data, event.id, event.ts, hub_id, resident_ref)
