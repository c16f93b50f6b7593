"""What the resident hears an alarm called, and which words an acknowledgement is said in.

With one alarm open she knows what "社区已收到，工作人员马上联系您" answers. With several open, or just
closed, three acks in a row sounded identical: she could not tell which of her calls was taken. Then
the line names its alarm ("紧急呼叫，社区已收到…", "烟雾报警，社区已收到…"), in the words the reminder
uses for it (hub.alarms.reminders); the single-alarm line is unchanged.
"""

from __future__ import annotations

from typing import Any

from hub.alarms.store import OpenAlarm

# An ack this soon after another alarm closed still names its alarm: she may have heard that one's
# "社区已收到" a moment ago (or the call cancelled), and the two lines must not sound the same.
RECENT_S = 300.0
# Each kind of call, as the reminder ("紧急呼叫，社区暂未确认…") and the named ack say it.
CALL_WORDS = {"emergency": ("紧急呼叫", "emergency call"), "health": ("健康咨询", "health call"),
              "service": ("服务呼叫", "service call"), "family": ("家人呼叫", "family call")}
ALARM_WORDS = {
    "alarm.fire": ("火警", "fire alarm"),
    "alarm.heat": ("高温报警", "heat alarm"),
    "alarm.cold": ("低温报警", "cold alarm"),
    "alarm.fall": ("跌倒报警", "fall alarm"),
    "alarm.inactivity": ("无活动报警", "inactivity alarm"),
    "alarm.gas": ("燃气报警", "gas alarm"),
    "alarm.co": ("一氧化碳报警", "carbon monoxide alarm"),
    "alarm.water": ("漏水报警", "water leak alarm"),
    "health.alert": ("健康报警", "health alert"),
    "power.lost": ("停电报警", "power cut alarm"),
    "power.battery_low": ("电池报警", "battery alarm"),
}


def words_of(alarm: OpenAlarm) -> tuple[str, str]:
    """(Mandarin, English) name of the alarm: the call's kind, the smoke alarm by its cause."""
    if alarm.type == "call.raised":
        return CALL_WORDS.get(str(alarm.facts.get("kind")), ("呼叫", "call"))
    if alarm.type == "alarm.fire" and alarm.facts.get("cause") == "smoke":
        return "烟雾报警", "smoke alarm"
    return ALARM_WORDS.get(alarm.type, ("报警", "alarm"))


class AckLines:
    """Which prompt an acknowledgement is said in; remembers when alarms closed, to know if it must name one."""

    def __init__(self) -> None:
        self._closed: dict[str, float] = {}  # alarm id -> monotonic time it closed, the last RECENT_S

    def closed(self, alarm_id: str, now: float) -> None:
        self._closed = {a: t for a, t in self._closed.items() if t > now - RECENT_S}
        self._closed[alarm_id] = now

    def line(self, alarm: OpenAlarm, others_open: bool, name: str, now: float) -> tuple[str, dict[str, Any]]:
        """(prompt key, fields) for the ack of `alarm`; `name`: the operator's spoken name or ""."""
        recent = any(t > now - RECENT_S for a, t in self._closed.items() if a != alarm.id)
        if not others_open and not recent:
            prefix = "call" if alarm.category == "call" else "alarm"
            return (f"{prefix}_acknowledged_by", {"name": name}) if name else (f"{prefix}_acknowledged", {})
        what, what_en = words_of(alarm)
        fields: dict[str, Any] = {"what": what, "what_en": what_en[:1].upper() + what_en[1:]}
        return ("acknowledged_about_by", {**fields, "name": name}) if name else ("acknowledged_about", fields)
