"""`cmd/notice` checked at the edge: a body the router has already parsed as strict JSON (hub.core.
platform_commands) becomes a `Notice`, or `Refused` with a reason the platform reads in `notice.refused`.

    {"id": "typhoon-0712", "text": "台风明天登陆，请关好门窗，不要外出", "priority": "critical",
     "expires": "2026-07-12T20:00:00+08:00", "repeat_s": 1800, "confirm": true}

Exactly one of `text` (said through the normal voice) or `audio` (base64 of a recording, with
`audio_format`); unknown fields, wrong types, bools posing as numbers are refused whole. What is said is
checked apart (hub.notices.speakable), off the loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PRIORITIES = ("critical", "action", "info")
RANK = {"critical": 0, "action": 1, "info": 2}
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
QUIET = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
FIELDS = {"id", "text", "audio", "audio_format", "priority", "expires", "repeat_s", "quiet_hours", "confirm"}
AUDIO_FORMATS = ("wav", "flac", "ogg")
MIN_REPEAT_S, MAX_REPEAT_S = 60, 86400
MAX_LIFETIME = timedelta(days=7)


class Refused(ValueError):
    """A notice the unit will not say: `reason` (a word, in notice.refused) and `detail` (for people)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class Notice:
    id: str
    priority: str
    expires: datetime
    text: str | None = None
    audio: bytes | None = None
    audio_format: str = "wav"
    repeat_s: float | None = None
    quiet_hours: str | None = None
    confirm: bool = False

    @property
    def rank(self) -> int:
        return RANK[self.priority]

    def digest(self) -> str:
        """What the notice says and how: the same id with another digest is not a replay but a reuse."""
        h = hashlib.sha256()
        for part in (self.priority, self.text or "", self.audio_format, str(self.repeat_s), str(self.quiet_hours),
                     str(self.confirm), self.expires.isoformat()):
            h.update(part.encode() + b"\0")
        h.update(self.audio or b"")
        return h.hexdigest()[:32]


def parse_notice(body: dict[str, Any], now: datetime, max_text: int, max_audio: int) -> Notice:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise Refused("malformed", f"unknown field(s) {', '.join(repr(k)[:40] for k in unknown[:5])}")
    nid = body.get("id")
    if not isinstance(nid, str) or not ID.match(nid):
        raise Refused("malformed", "id must be 1-64 characters: letters, digits, . _ : - "
                                   f"(got {ascii(nid)[:40]})")
    priority = body.get("priority")
    if priority not in PRIORITIES:
        raise Refused("malformed", f"priority must be one of {', '.join(PRIORITIES)} (got {ascii(priority)[:40]})")
    expires = _expires(body.get("expires"), now)
    repeat = body.get("repeat_s")
    if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int | float)
                               or not MIN_REPEAT_S <= repeat <= MAX_REPEAT_S):
        raise Refused("malformed", f"repeat_s must be a number from {MIN_REPEAT_S} to {MAX_REPEAT_S} "
                                   f"(got {ascii(repeat)[:40]})")
    quiet = body.get("quiet_hours")
    if quiet is not None and (not isinstance(quiet, str) or not QUIET.match(quiet) or quiet[:5] == quiet[6:]):
        raise Refused("malformed", f"quiet_hours must be \"HH:MM-HH:MM\" (got {ascii(quiet)[:40]})")
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise Refused("malformed", f"confirm must be true or false (got {ascii(confirm)[:40]})")
    text, audio = body.get("text"), body.get("audio")
    if (text is None) == (audio is None):
        raise Refused("malformed", "give exactly one of text or audio")
    notice = Notice(nid, priority, expires, repeat_s=float(repeat) if repeat is not None else None,
                    quiet_hours=quiet, confirm=confirm)
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise Refused("malformed", "text must be a non-empty string")
        if len(text) > max_text:
            raise Refused("too_long", f"{len(text)} characters; at most {max_text} ([notices] max_text_chars)")
        notice.text = text.strip()
    else:
        notice.audio, notice.audio_format = _audio(audio, body.get("audio_format", "wav"), max_audio)
    return notice


def _expires(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Refused("malformed", "expires must be an ISO 8601 time with its UTC offset")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise Refused("malformed", f"expires is not an ISO 8601 time ({ascii(value)[:40]})") from None
    if when.tzinfo is None:
        raise Refused("malformed", "expires needs its UTC offset (+08:00)")
    if when <= now:
        raise Refused("expired", f"expired on arrival ({value}; the unit's clock says "
                                 f"{now.isoformat(timespec='seconds')})")
    if when - now > MAX_LIFETIME:
        raise Refused("malformed", "expires more than 7 days ahead")
    return when


def _audio(value: Any, fmt: Any, max_audio: int) -> tuple[bytes, str]:
    if fmt not in AUDIO_FORMATS:
        raise Refused("audio_format", f"audio_format must be one of {', '.join(AUDIO_FORMATS)} (got {ascii(fmt)[:20]})")
    if not isinstance(value, str) or not value:
        raise Refused("malformed", "audio must be a base64 string")
    if len(value) > (max_audio + 2) // 3 * 4 + 4:
        raise Refused("too_big", f"recording over {max_audio} bytes ([notices] max_audio_bytes)")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("malformed", "audio is not valid base64") from None
    if len(data) > max_audio:
        raise Refused("too_big", f"recording of {len(data)} bytes; at most {max_audio} ([notices] max_audio_bytes)")
    return data, fmt
