"""One SIP call as the hub sees it, why it ended, and the `voice.started` / `voice.ended` payloads.

A call is outgoing (the hub rang a target after an alarm) or incoming (someone rang the hub). It is
answered when the speech path opens (baresip's CALL_ESTABLISHED) and ends once (CALL_CLOSED, or
baresip going away). `local_reason` is set before the hub hangs up itself, so the close that follows
is reported for what it was (no answer, cancelled, refused) rather than as "hung up by us".
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

# voice.ended reasons (docs/schemas/voice.ended.json)
REMOTE_HANGUP, LOCAL_HANGUP, NO_ANSWER = "remote_hangup", "local_hangup", "no_answer"
BUSY, DECLINED, NOT_FOUND, UNREACHABLE, FAILED = "busy", "declined", "not_found", "unreachable", "failed"
CANCELLED, SUPERSEDED, SHUTDOWN = "cancelled", "superseded", "shutdown"
CALLER_GAVE_UP, NOT_ALLOWED, OUTSIDE_WINDOW = "caller_gave_up", "caller_not_allowed", "outside_window"
HUB_BUSY = "hub_busy"
AGENT_FAILED, UNAVAILABLE = "agent_failed", "unavailable"
ACKNOWLEDGED, NOT_ACKNOWLEDGED = "acknowledged", "not_acknowledged"  # modem calls: did the responder press 1
REASONS = (REMOTE_HANGUP, LOCAL_HANGUP, NO_ANSWER, BUSY, DECLINED, NOT_FOUND, UNREACHABLE, FAILED, CANCELLED,
           SUPERSEDED, SHUTDOWN, CALLER_GAVE_UP, NOT_ALLOWED, OUTSIDE_WINDOW, HUB_BUSY, AGENT_FAILED, UNAVAILABLE,
           ACKNOWLEDGED, NOT_ACKNOWLEDGED)
_CODE = re.compile(r"^\s*(\d{3})\b")


@dataclass
class Call:
    direction: str  # "outgoing" | "incoming"
    who: str  # duty | doctor | family | neighbour | caller
    peer: str
    trigger: str | None  # id of the event that made the hub call, or opened the answer window
    attempt: int = 1  # place in the target chain (incoming: 1)
    via: str = "sip"  # "sip" (baresip) | "modem" (the 4G modem: hub/voicecall/modem_path.py)
    call_id: str | None = None
    begun: float = field(default_factory=time.monotonic)
    answered_at: float | None = None
    local_reason: str | None = None
    ended: bool = False
    stranger: bool = False  # an incoming call not (yet) shown to come from the SIP server and a known party
    answered: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    closed: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def mark_answered(self) -> None:
        if self.answered_at is None:
            self.answered_at = time.monotonic()
        if not self.answered.done():
            self.answered.set_result(None)

    def mark_closed(self, reason: str) -> None:
        self.ended = True
        if not self.closed.done():
            self.closed.set_result(reason)

    def started_data(self) -> dict[str, Any]:
        return {"direction": self.direction, "who": self.who, "peer": self.peer, "trigger": self.trigger,
                "attempt": self.attempt, "setup_s": round((self.answered_at or self.begun) - self.begun, 3),
                "via": self.via}

    def ended_data(self, reason: str, detail: str) -> dict[str, Any]:
        talk = time.monotonic() - self.answered_at if self.answered_at is not None else 0.0
        return {"direction": self.direction, "who": self.who, "peer": self.peer, "trigger": self.trigger,
                "attempt": self.attempt, "answered": self.answered_at is not None, "talk_s": round(talk, 1),
                "reason": reason, "detail": detail[:120], "via": self.via}


def close_reason(call: Call, param: str) -> str:
    """Why the call ended, from baresip's CALL_CLOSED text ("486 Busy Here", "Connection reset by
    peer", "Connection timed out", ...) and what the hub itself was doing."""
    if call.local_reason is not None:
        return call.local_reason
    text = param.lower()
    if call.answered_at is not None:
        if "by peer" in text:
            return REMOTE_HANGUP
        return LOCAL_HANGUP if "by user" in text else FAILED
    if call.direction == "incoming":
        return CALLER_GAVE_UP if "by peer" in text else FAILED
    match = _CODE.match(param)
    if match:
        code = int(match.group(1))
        if code in (486, 600):
            return BUSY
        if code in (603, 403):
            return DECLINED
        if code in (404, 484, 604):
            return NOT_FOUND
        if code in (408, 480, 487):
            return NO_ANSWER
        return FAILED
    if "timed out" in text or "unreachable" in text or "refused" in text:
        return UNREACHABLE
    return FAILED


def status_text(agent_state: str, talking: Call | None, outgoing: Call | None, window_left_s: float) -> str:
    """`hub status` voice_call: the agent, the call under way, the auto-answer window."""
    text = agent_state
    if talking is not None:
        text += f"; talking with {talking.who} ({talking.direction}, {talking.peer})"
    elif outgoing is not None and not outgoing.ended:
        by = " by the 4G modem" if outgoing.via == "modem" else ""
        text += f"; calling {outgoing.who} ({outgoing.peer}){by}"
    if window_left_s > 0:
        text += f"; auto-answer open for {math.ceil(window_left_s / 60)} min"
    return text
