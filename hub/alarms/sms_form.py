"""The SMS short form of an alarm and its context card: ONE text-mode SMS in UCS-2, at most 70 characters
(the hub writes Chinese, so GSM-7's 160 never applies; a modem in text mode sends one part, no
concatenation), which a responder reads on a phone's lock screen:

    【一键呼】跌倒 R-0042 10:02 终端demo-0001 #5f3a9c21 超时无应答 动:客厅09:58 压152/95 温23℃ 回复1确认

The head (kind, resident reference, time, hub, event id) and the tail (how to acknowledge) are always
there; the facts of the card follow in order of use to a responder — how the countdown ended, power
lost, smoke, last motion, blood pressure, glucose, temperature, address reference — each one whole or
not at all, as many as fit. Nothing is ever cut in the middle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SMS_MAX_CHARS = 70  # one UCS-2 SMS part
ACK_REPLY = "1"
KINDS = {
    "alarm.fire": "火警",
    "alarm.heat": "室温过高",
    "alarm.cold": "室温过低",
    "alarm.fall": "跌倒",
    "alarm.inactivity": "长时间无活动",
    "health.alert": "健康警报",
    "power.lost": "停电",
    "power.battery_low": "电池电量低",
}
CALLS = {"emergency": "紧急呼叫", "health": "健康咨询", "service": "生活服务", "family": "亲情联络"}
COUNTDOWN = {"timed_out": "超时无应答", "no_answer": "询问无应答"}


def short_id(event_id: str) -> str:
    return event_id.replace("-", "")[:8]


def kind_words(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "call.raised":  # the installer's test call (hub provision's live check) says so
        return ("测试" if data.get("test") else "") + CALLS.get(str(data.get("kind")), "呼叫")
    return KINDS.get(event_type, event_type)


def _hhmm(iso: str | None) -> str:
    return iso[11:16] if iso and len(iso) >= 16 else ""


def facts(card: dict[str, Any]) -> list[str]:
    """The card's facts as short phrases, most useful first."""
    out: list[str] = []
    trigger = card.get("trigger") or {}
    countdown = COUNTDOWN.get(trigger.get("countdown", ""))
    if countdown and trigger.get("by") != "button":  # a call's kind already says the resident asked
        out.append(countdown)
    power, home = card.get("power") or {}, card.get("home") or {}
    if power.get("mains") == "lost":
        out.append("断电")
    if home.get("smoke") or home.get("fire_alarm"):
        out.append("有烟")
    motion = card.get("last_motion")
    if motion:
        out.append(f"动:{str(motion.get('room'))[:8]}{_hhmm(motion.get('at'))}")
    bp = card.get("bp")
    if bp and bp.get("systolic") is not None:
        out.append(f"压{round(bp['systolic'])}/{round(bp['diastolic'])}")
    glucose = card.get("glucose")
    if glucose and glucose.get("mmol_per_l") is not None:
        out.append(f"糖{glucose['mmol_per_l']:.1f}")
    if home.get("temperature_c") is not None:
        out.append(f"温{round(home['temperature_c'])}℃")
    address = (card.get("resident") or {}).get("address_ref")
    if address:
        out.append(f"址{address}")
    return out


def short_form(event_type: str, data: dict[str, Any], event_id: str, ts: datetime, hub_id: str,
               resident_ref: str, limit: int = SMS_MAX_CHARS) -> str:
    """The SMS for an alarm: never longer than `limit` characters (see the module doc)."""
    who = f" {resident_ref}" if resident_ref else ""
    when = ts.strftime("%H:%M")  # the day is today: the text goes out minutes after the alarm
    head = f"【一键呼】{kind_words(event_type, data)}{who} {when} 终端{hub_id} #{short_id(event_id)}"
    tail = f" 回复{ACK_REPLY}确认"
    if len(head) + len(tail) > limit:  # an absurdly long hub id or reference: the id and the tail stay
        head = head[: limit - len(tail) - 10] + f"…#{short_id(event_id)}"
    text = head
    for fact in facts(data.get("context") or {}):
        if len(text) + 1 + len(fact) + len(tail) <= limit:
            text += " " + fact
    return text + tail


def is_ack(body: str) -> bool:
    """A reply that acknowledges: starts with 1 (a full-width １ too: phone keyboards in Chinese mode)."""
    return body.strip().replace("１", "1").startswith(ACK_REPLY)


def same_number(a: str, b: str) -> bool:
    """+8613800138000, 8613800138000 and 13800138000 are one phone (mainland numbers: 11 digits)."""
    def core(n: str) -> str:
        digits = "".join(ch for ch in n if ch.isdigit())
        return digits[-11:] if len(digits) >= 11 else digits

    return bool(core(a)) and core(a) == core(b)
