"""The second path's alarms: committed alarms the platform has not confirmed (no PUBACK), texted to the
duty numbers once they have waited `[modem] sms_after_s`, and which of them a reply "1" may acknowledge.

A number the network refuses is tried again after `[modem] sms_retry_s`, the others are not texted twice. A "1"
without a code acknowledges the alarm texted to its sender most recently, within ACK_WINDOW_S; "1#CODE"
the alarm the code names (hub/cellular/replies.py picks one alarm of all the listeners' claims).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.modem.client import AtError, AtModem
from hub.cellular.replies import Claim
from hub.cellular.sms import alarm_text, same_number, short_code, sms_worthy
from hub.core.context import HubContext
from hub.core.events import Event

log = logging.getLogger(__name__)
ACK_WINDOW_S = 1800.0  # a "1" without a code acknowledges an alarm texted to its sender at most this long ago


@dataclass
class Waiting:
    event: Event
    since: float  # monotonic: when it was committed
    texted_to: dict[str, float] = field(default_factory=dict)  # number -> when (wall clock) it was texted
    next_try: float = 0.0  # monotonic: after an SMS the network refused, wait before the next attempt


class Overdue:
    """The alarms waiting for the platform, by event id, and who they were texted to."""

    def __init__(self, numbers: list[str], after_s: float, hub_id: str, resident_ref: str,
                 retry_s: float = 30.0) -> None:
        self.numbers, self.after_s, self.hub_id, self.resident_ref = numbers, after_s, hub_id, resident_ref
        self.retry_s = retry_s  # after a refused SMS ([modem] sms_retry_s)
        self.waiting: dict[str, Waiting] = {}

    def committed(self, event: Event) -> bool:
        """Wait for this event's PUBACK if it is worth a text; True if it now waits."""
        if not sms_worthy(event):
            return False
        self.waiting[event.id] = Waiting(event, time.monotonic())
        return True

    def delivered(self, event_id: str) -> None:
        waiting = self.waiting.pop(event_id, None)
        if waiting is not None and waiting.texted_to:
            log.info("alarm %s reached the platform after it was texted to %s", event_id, waiting.texted_to)

    async def text(self, modem: AtModem, ctx: HubContext, refused: Callable[[str], None],
                   texted: Callable[[], None]) -> None:
        """Text every alarm waited long enough to each duty number not reached yet; `refused` is told why
        the network refused one, `texted` each SMS the network took."""
        now = time.monotonic()
        for waiting in list(self.waiting.values()):
            if now - waiting.since < self.after_s or now < waiting.next_try:
                continue
            text = alarm_text(waiting.event, self.hub_id, self.resident_ref)
            for number in self.numbers:
                if number in waiting.texted_to:
                    continue
                try:
                    await modem.send_sms(number, text)
                except AtError as exc:  # refused by the network: try again on the next round
                    refused(f"SMS to {number}: {exc.final.text}")
                    log.warning("短信发送失败 SMS to %s failed: %s; retrying in %.0f s", number, exc.final.text,
                                self.retry_s)
                    waiting.next_try = now + self.retry_s
                    continue
                ctx.alarms.note_fact(waiting.event.id, "texted")  # the modem's +CMGS
                if not waiting.texted_to:
                    ctx.say("cellular_sms_sent", about=waiting.event.id)  # help was reached another way
                waiting.texted_to[number] = ctx.clock.now().timestamp()
                texted()
                log.info("alarm %s (%s) texted to %s", waiting.event.id, waiting.event.type, number)

    def claims(self, ctx: HubContext, sender: str, code: str | None) -> list[Claim] | None:
        """The second path's own texts: alarms texted to `sender` (a duty number) that a "1" may acknowledge."""
        if not any(same_number(sender, n) for n in self.numbers):
            return None
        now, claims = ctx.clock.now().timestamp(), list[Claim]()
        for waiting in self.waiting.values():
            at = max((t for n, t in waiting.texted_to.items() if same_number(sender, n)), default=None)
            if at is None or (short_code(waiting.event.id) != code[:4] if code else now - at > ACK_WINDOW_S):
                continue
            claims.append((at, waiting.event.id, functools.partial(_acknowledge, ctx, waiting)))
        return claims


async def _acknowledge(ctx: HubContext, waiting: Waiting, by: str, message: str | None) -> bool:
    """True if this took the alarm (False: closed, or acknowledged already)."""
    if (alarm := ctx.alarms.get(waiting.event.id)) is None or alarm.acknowledged:
        return False
    # Not "named": the resident hears "社区已收到…", not a phone number read out digit by digit.
    return await ctx.alarms.ack(waiting.event.id, by, message, named=False, via="sms")
