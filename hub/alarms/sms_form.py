"""The SMS short form of an alarm and its context card: ONE text-mode SMS in UCS-2, at most 70 characters
(the hub writes Chinese, so GSM-7's 160 never applies; a modem in text mode sends one part, no
concatenation), which a responder reads on a phone's lock screen:

    【一键呼】跌倒 R-0042 10:02 终端demo-0001 #5f3a9c21 超时无应答 动:客厅09:58 压152/95 温23℃ 回复1#5f3a确认

The head (kind, resident reference, time, hub, event id) and the tail (how to acknowledge: "1", or "1#" and
the alarm's short code, the event id's first 4 characters, to name the alarm) are always
there; the facts of the card follow in order of use to a responder — how the countdown ended, power
lost, smoke, last motion, blood pressure, glucose, temperature, address reference — each one whole or
not at all, as many as fit. Nothing is ever cut in the middle.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.alarms.words import CALL_WORDS

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
    "alarm.gas": "燃气泄漏",
    "alarm.co": "一氧化碳",
    "alarm.water": "漏水",
}
CALLS = {kind: words[0] for kind, words in CALL_WORDS.items()}  # what the resident hears them called
COUNTDOWN = {"timed_out": "超时无应答", "no_answer": "询问无应答"}


def short_id(event_id: str) -> str:
    return event_id.replace("-", "")[:8]


def short_code(event_id: str) -> str:
    """The code a reply names the alarm by ("1#5f3a"): the first 4 characters of the id the SMS prints."""
    return short_id(event_id)[:4]


def kind_words(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "call.raised":  # the installer's test call (hub provision's live check) says so
        return ("测试" if data.get("test") else "") + CALLS.get(str(data.get("kind")), "呼叫")
    if event_type in ("alarm.gas", "alarm.co", "alarm.water") and data.get("room"):  # hub.zigbee: where
        return f"{KINDS[event_type]}{str(data['room'])[:4]}"
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
    tail = f" 回复{ACK_REPLY}#{short_code(event_id)}确认"
    if len(head) + len(tail) > limit:  # an absurdly long hub id or reference: the id and the tail stay
        head = head[: limit - len(tail) - 10] + f"…#{short_id(event_id)}"
    text = head
    for fact in facts(data.get("context") or {}):
        if len(text) + 1 + len(fact) + len(tail) <= limit:
            text += " " + fact
    return text + tail


@dataclass(frozen=True)
class Reply:
    """An SMS that acknowledges: exactly "1", or "1#" and the short code of the alarm it names."""

    code: str | None  # lower case; None: the most recent alarm texted to the sender, within its window


_CODED = re.compile(r"1\s*#\s*([0-9a-z]{4,8})")


def parse_reply(body: str) -> Reply | None:
    """The acknowledgement this SMS is, or None: anything but "1" / "1#CODE" after trimming (full-width
    "１" and "＃" too: phone keyboards in Chinese mode) is a message for a person, not an ack."""
    text = unicodedata.normalize("NFKC", body).strip().lower()
    if text == ACK_REPLY:
        return Reply(None)
    m = _CODED.fullmatch(text)
    return Reply(m.group(1)) if m else None


def is_ack(body: str) -> bool:
    return parse_reply(body) is not None


def e164(number: str) -> str | None:
    """A phone number in full international form (+8613800138000), the mainland's national forms
    (13800138000, 0086..., 86138..., 010...) read as +86; None for what is not a number (an alphanumeric
    sender id like "BANK13800138000"). A short number without prefix (10086) stays as it is."""
    text = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", number))
    if not re.fullmatch(r"\+?\d{3,20}", text):
        return None
    if text.startswith("+"):
        return text
    if text.startswith("00"):
        return "+" + text[2:]
    if len(text) == 13 and text.startswith("861"):
        return "+" + text
    if len(text) == 11 and text.startswith("1"):
        return "+86" + text
    if text.startswith("0"):
        return "+86" + text[1:]
    return text


def same_number(a: str, b: str) -> bool:
    """One phone: the full E.164 forms are equal (never a suffix: +1 380 013 8000 is not 13800138000)."""
    ea = e164(a)
    return ea is not None and ea == e164(b)


def masked(sender: str) -> str:
    """A sender as events and logs show it: +86*******8000 (enough to tell numbers apart, not to call)."""
    text = sender.strip()
    return text[:3] + "*" * (len(text) - 7) + text[-4:] if len(text) >= 8 else "*" * len(text)
