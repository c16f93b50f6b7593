"""Reaching one person of the chain through the 4G modem: a text, or a call that is hung up as soon as
the alarm is settled another way. The modem is the cellular component, reached duck-typed through
`ctx.component("cellular")` (capabilities never import each other); `Modem` is what is used of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from hub.escalation.steps import voice_outcome

log = logging.getLogger(__name__)


class Modem(Protocol):
    """What the chain needs of the cellular component (hub.cellular.component.Cellular)."""

    async def send_sms(self, numbers: list[str], text: str) -> list[str]:
        """The numbers the network took the text for."""
        ...

    async def dial(self, number: str, *, event_id: str | None, ring_s: float,
                   prompt: str | None = None) -> dict[str, Any]:
        """{"number", "answered", "acknowledged" (pressed 1), "seconds" (talk), "reason"}; hangs up when cancelled."""
        ...


@dataclass(frozen=True)
class Outcome:
    outcome: str  # an escalation.step outcome
    to: list[str]
    detail: str | None = None
    talk_s: float | None = None


async def text(modem: Modem | None, numbers: list[str], body: str) -> Outcome:
    if modem is None:
        return Outcome("unavailable", numbers, "no modem")
    try:
        sent = await modem.send_sms(numbers, body)
    except Exception as exc:  # the modem's own faults: reported, and the chain goes on
        log.warning("escalation: SMS to %s failed: %s", numbers, exc)
        return Outcome("failed", numbers, str(exc)[:120])
    return Outcome("sent" if len(sent) == len(numbers) else "partly_sent" if sent else "failed", sent or numbers)


Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


async def call(modem: Modem | None, number: str, ring_s: float, spawn: Spawn, signal: asyncio.Event,
               settled: Callable[[], bool]) -> Outcome:
    """Ring `number`; `signal` is set whenever something changed, `settled()` says the alarm needs no
    more calls (acknowledged another way, or withdrawn): then the call is hung up ("stopped")."""
    if modem is None or not hasattr(modem, "dial"):
        return Outcome("unavailable", [number], "no modem voice calls")
    # event_id=None: the chain commits the ack itself, so the resident hears who is coming
    task = spawn(f"escalation_chain.dial.{number[-4:]}", modem.dial(number, event_id=None, ring_s=ring_s,
                                                                    prompt="escalation_answered"))
    while not task.done():
        signal.clear()
        if settled():
            task.cancel()  # Cellular.dial hangs up when cancelled
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return Outcome("stopped", [number], "the alarm was acknowledged or withdrawn during the call")
        waiter = asyncio.ensure_future(signal.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    try:
        result = task.result()
    except Exception as exc:
        log.warning("escalation: call to %s failed: %s", number, exc)
        return Outcome("failed", [number], str(exc)[:120])
    return Outcome(voice_outcome(result), [number], result.get("reason"), result.get("seconds"))
