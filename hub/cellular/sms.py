"""What an SMS says: one UCS2 message (70 characters) a duty officer can act on from a phone's lock screen.

    【一键呼】紧急呼叫 R-0042 11-30 10:02 终端demo-0001 #5f3a9c21 回复1确认

The alarm's kind first, then the resident reference (never a name: the platform knows who it is), the
time the alarm was raised, the hub id and the event id's first 8 characters; then how to acknowledge.
"""

from __future__ import annotations

from typing import Any

from drivers.modem.at import fit_sms
from hub.core.events import Event

# Which committed events are worth a text when the platform has not got them: what a person must act on.
_KINDS = {
    "alarm.fire": "火警",
    "alarm.heat": "室温过高",
    "alarm.cold": "室温过低",
    "alarm.fall": "跌倒",
    "alarm.inactivity": "长时间无活动",
    "health.alert": "健康警报",
    "power.lost": "停电",
}
_CALLS = {"emergency": "紧急呼叫", "health": "健康咨询", "service": "生活服务", "family": "亲情联络"}
ACK_REPLY = "1"


def sms_worthy(event: Event) -> bool:
    return event.type == "call.raised" or event.type in _KINDS


def short_id(event_id: str) -> str:
    return event_id.replace("-", "")[:8]


def kind_words(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "call.raised":
        return _CALLS.get(str(data.get("kind")), "呼叫")
    return _KINDS.get(event_type, event_type)


def alarm_text(event: Event, hub_id: str, resident_ref: str) -> str:
    who = f" {resident_ref}" if resident_ref else ""
    when = event.ts.strftime("%m-%d %H:%M")
    return fit_sms(f"【一键呼】{kind_words(event.type, event.data)}{who} {when} 终端{hub_id} "
                   f"#{short_id(event.id)} 回复{ACK_REPLY}确认")


def is_ack(body: str) -> bool:
    """A reply that acknowledges: starts with 1 (a full-width １ too: phone keyboards in Chinese mode)."""
    return body.strip().replace("１", "1").startswith(ACK_REPLY)


def same_number(a: str, b: str) -> bool:
    """+8613800138000, 8613800138000 and 13800138000 are one phone (mainland numbers: 11 digits)."""
    def core(n: str) -> str:
        digits = "".join(ch for ch in n if ch.isdigit())
        return digits[-11:] if len(digits) >= 11 else digits

    return bool(core(a)) and core(a) == core(b)
