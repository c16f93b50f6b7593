"""What the resident hears an alarm called, and which words an acknowledgement is said in.

With one alarm open she knows what "社区已收到，工作人员马上联系您" answers. With several open, or just
closed, three acks in a row sounded identical: she could not tell which of her calls was taken. Then
the line names its alarm ("紧急呼叫，社区已收到…", "烟雾报警，社区已收到…"), in the words the reminder
uses for it (hub.alarms.reminders); the single-alarm line is unchanged. Two of one kind (two emergency
calls: the unit's button and the pendant) would still sound the same, so then the name carries the
time it was raised, as she says a time ("上午十点零五分的紧急呼叫"), or its order when both came in one
minute ("第二个紧急呼叫").
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from hub.alarms.store import CLOSED_KEPT_S, OpenAlarm
from hub.core.clock import zone_named
from voice.normalise import clock_zh, integer_zh

# An ack this soon after another alarm closed still names its alarm: she may have heard that one's
# "社区已收到" a moment ago (or the call cancelled), and the two lines must not sound the same. The
# alarm store keeps closes as long (hub.alarms.store), so a restart does not forget them.
RECENT_S = CLOSED_KEPT_S
# Each kind of call, as the reminder ("紧急呼叫，社区暂未确认…") and the named ack say it: the community
# programmes' own names, which the button labels, the console, the duty SMS and the installer use too, so
# what an operator reads back to her is what she heard.
CALL_WORDS = {"emergency": ("紧急呼叫", "emergency call"), "health": ("健康咨询", "health call"),
              "service": ("生活服务", "service call"), "family": ("亲情呼叫", "family call")}
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
ORDINAL_EN = ("first", "second", "third")


def words_of(alarm: OpenAlarm) -> tuple[str, str]:
    """(Mandarin, English) name of the alarm: the call's kind, the smoke alarm by its cause."""
    if alarm.type == "call.raised":
        return CALL_WORDS.get(str(alarm.facts.get("kind")), ("呼叫", "call"))
    if alarm.type == "alarm.fire" and alarm.facts.get("cause") == "smoke":
        return "烟雾报警", "smoke alarm"
    return ALARM_WORDS.get(alarm.type, ("报警", "alarm"))


def told_apart(alarm: OpenAlarm, alike: list[OpenAlarm], zone: tzinfo | None) -> tuple[str, str]:
    """The name of `alarm` among `alike`, others named the same: by the minute it was raised on her
    clock, or by its place in the order they were raised when that minute is shared."""
    what, what_en = words_of(alarm)
    def minute(a: OpenAlarm) -> datetime:
        return datetime.fromtimestamp(a.opened, zone).replace(second=0, microsecond=0)
    raised = minute(alarm)
    if all(minute(other) != raised for other in alike):
        return f"{clock_zh(raised.hour, raised.minute)}的{what}", f"the {raised:%H:%M} {what_en}"
    place = sum(1 for other in alike if (other.opened, other.id) < (alarm.opened, alarm.id))
    english = ORDINAL_EN[place] if place < len(ORDINAL_EN) else f"no. {place + 1}"
    return f"第{integer_zh(place + 1)}个{what}", f"the {english} {what_en}"


class AckLines:
    """Which prompt an acknowledgement is said in; remembers the alarms that closed lately (also across a
    restart: `restore`), to know if it must name one and whether two are called the same."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = zone_named(timezone)  # [hub] timezone: the clock she reads the time of a call on
        self._closed: dict[str, tuple[float, OpenAlarm]] = {}  # id -> (monotonic close, alarm), last RECENT_S

    def closed(self, alarm: OpenAlarm, now: float) -> None:
        self._closed = {a: c for a, c in self._closed.items() if c[0] > now - RECENT_S}
        self._closed[alarm.id] = (now, alarm)

    def restore(self, closed: list[tuple[OpenAlarm, float]], wall: float, now: float) -> None:
        """At start: the closes the alarm store kept (alarm, wall-clock seconds), `now` on this run's clock."""
        for alarm, at in closed:
            self._closed[alarm.id] = (now - max(0.0, wall - at), alarm)

    def line(self, alarm: OpenAlarm, others: list[OpenAlarm], name: str, now: float) -> tuple[str, dict[str, Any]]:
        """(prompt key, fields) for the ack of `alarm`; `others`: the other open alarms; `name`: the
        operator's spoken name or ""."""
        if alarm.facts.get("test"):  # the installer's test call: received (by whom), and no one will ring back
            return ("test_call_acknowledged_by", {"name": name}) if name else ("test_call_acknowledged", {})
        recent = [a for t, a in self._closed.values() if t > now - RECENT_S and a.id != alarm.id]
        if not others and not recent:
            prefix = "call" if alarm.category == "call" else "alarm"
            return (f"{prefix}_acknowledged_by", {"name": name}) if name else (f"{prefix}_acknowledged", {})
        alike = [a for a in (*others, *recent) if words_of(a) == words_of(alarm)]
        what, what_en = told_apart(alarm, alike, self.zone) if alike else words_of(alarm)
        fields: dict[str, Any] = {"what": what, "what_en": what_en[:1].upper() + what_en[1:]}
        return ("acknowledged_about_by", {**fields, "name": name}) if name else ("acknowledged_about", fields)

    def apart(self, alarms: list[OpenAlarm]) -> dict[str, tuple[str, str]]:
        """For the reminder of these alarms: the names of those that share a kind, told apart as their acks
        will tell them ("上午九点零一分的紧急呼叫"), by alarm id; the others keep their plain name."""
        return {a.id: told_apart(a, alike, self.zone) for a in alarms
                if (alike := [b for b in alarms if b.id != a.id and words_of(b) == words_of(a)])}
