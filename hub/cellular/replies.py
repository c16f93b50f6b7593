"""What an SMS the modem receives does (docs/fleet.md "SMS": who can acknowledge what).

Only a reply that is exactly "1" (full-width "１" too), or "1#" and an alarm's short code ("1#5f3a", the
code the alarm's SMS printed), acknowledges, and then exactly one alarm: the one the code names, or,
without a code, the most recent one texted to that number, and only within its window. Who was texted
about what is asked of each listener — the cellular second path's own texts and the escalation chain's
(hub.escalation, registered through `Cellular.on_sms`) — with the sender's full E.164 number
(hub.alarms.sms_form.e164: never a suffix; an alphanumeric sender is no number at all).

Anything else is a message for a person ("1个小时后才能到，请找别人"): logged and forwarded to the platform as
`sms.received`. A person the hub texted about an alarm still waiting for them who writes back in words
("收到，马上到") is texted once that it was no acknowledgement and how to give one: with the broadband down the
platform sees their words only later, and they would believe the alarm taken while the chain goes on. A "1"
for an alarm someone else has taken gets one text saying so. A "1" that acknowledges nothing (a stranger, a
code of no open alarm, a window that has passed) is an `sms.refused` event. Both show the sender masked
(+86*******8000). Senders the hub never texts (spam, a stranger) get at most STRANGERS_PER_HOUR such events
an hour; the rest are counted in one log line.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from hub.alarms.sms_form import e164, masked, parse_reply, short_code
from hub.core.context import HubContext

log = logging.getLogger(__name__)
TEXT_MAX = 160  # characters of a forwarded message kept in its event
STRANGERS_PER_HOUR = 20

# take(by, message) commits the acknowledgement: True if it was taken (False: acknowledged already)
Take = Callable[[str, str | None], Awaitable[bool]]
# (when the sender was texted or called about it, wall clock; the alarm's id; how to acknowledge it)
Claim = tuple[float, str, Take]
# (sender as E.164, the reply's code or None) -> None if the sender is none of the listener's numbers, else
# the alarms this reply may acknowledge (the code's; without one, those whose window is still open)
SmsListener = Callable[[str, str | None], list[Claim] | None]
# tell(sender, alarm id, text): one SMS back to a number the hub texted about that alarm (once per text)
Tell = Callable[[str, str, str], Awaitable[None]]
NOT_AN_ACK = "【一键呼】您的回复没有确认报警#{code}，求助仍在等待处理。确认请只回复1#{code}"
TAKEN = "【一键呼】报警#{code}已由他人确认或已结束，无需再回复"


def _ask(listener: SmsListener, number: str, code: str | None) -> list[Claim] | None:
    try:
        return listener(number, code)
    except Exception:
        log.exception("SMS listener failed")
        return None


class Budget:
    """At most `per_hour` events a rolling hour for senders the hub never texts; the rest counted."""

    def __init__(self, per_hour: int = STRANGERS_PER_HOUR, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour, self._clock, self._sent, self.dropped = per_hour, clock, deque[float](), 0

    def allow(self) -> bool:
        now = self._clock()
        while self._sent and now - self._sent[0] > 3600:
            self._sent.popleft()
        if len(self._sent) < self.per_hour:
            self._sent.append(now)
            return True
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning("SMS from unknown senders: %d not forwarded to the platform (at most %d an hour)",
                        self.dropped, self.per_hour)
        return False


def _unanswered(ctx: HubContext, alarm_id: str) -> bool:
    alarm = ctx.alarms.get(alarm_id)
    return alarm is not None and not alarm.acknowledged


async def handle(ctx: HubContext, sender: str, body: str, listeners: list[SmsListener],
                 budget: Budget | None = None, tell: Tell | None = None) -> str | None:
    """Act on one received SMS; the id of the alarm it acknowledged, if any."""
    reply, number, shown = parse_reply(body), e164(sender), masked(sender)
    answers = [_ask(listener, number, reply.code if reply else None) for listener in listeners] if number else []
    known = any(answer is not None for answer in answers)
    if not known and budget is not None and not budget.allow():
        return None
    if reply is None:
        log.info("短信不是确认 SMS from %s (%s) is not an acknowledgement (only \"1\" is): %r; forwarded to the "
                 "platform", shown, "a number texted about alarms" if known else "unknown sender", body[:60])
        await ctx.raise_event("sms.received", {"from": shown, "known": known, "text": body.strip()[:TEXT_MAX]})
        waiting = [claim for answer in answers if answer for claim in answer if _unanswered(ctx, claim[1])]
        if waiting and tell is not None:  # an alarm texted to them is still theirs to acknowledge
            alarm_id = max(waiting, key=lambda claim: claim[0])[1]
            await tell(sender, alarm_id, NOT_AN_ACK.format(code=short_code(alarm_id)))
        return None
    claims = [claim for answer in answers if answer for claim in answer]
    if not claims:
        reason = ("not_a_number" if number is None else "stranger" if not known
                  else "unknown_code" if reply.code else "nothing_open")
        words = {"not_a_number": "the sender is not a phone number (an alphanumeric sender id)",
                 "stranger": "the number was never texted about an alarm",
                 "unknown_code": f"no open alarm texted to it has the code {reply.code}",
                 "nothing_open": "no alarm texted to it is waiting for an acknowledgement (none, or its window "
                                 "has passed: reply 1#CODE)"}[reason]
        log.warning("短信确认被拒绝 SMS \"%s\" from %s refused: %s", body.strip()[:20], shown, words)
        await ctx.raise_event("sms.refused", {"from": shown, "reason": reason, "text": body.strip()[:40]})
        return None
    _, alarm_id, take = max(claims, key=lambda claim: claim[0])  # the most recent one texted, even if taken
    if await take(sender, body.strip()[:100] or None):
        log.info("alarm %s acknowledged by SMS from %s", alarm_id, shown)
        return alarm_id
    log.info("SMS \"%s\" from %s acknowledged nothing: alarm %s, the last texted to it, was acknowledged (or "
             "closed) already", body.strip()[:20], shown, alarm_id)
    await ctx.raise_event("sms.refused", {"from": shown, "reason": "acknowledged_already", "text": body.strip()[:40],
                                          "event_id": alarm_id})
    if tell is not None:
        await tell(sender, alarm_id, TAKEN.format(code=short_code(alarm_id)))
    return None
