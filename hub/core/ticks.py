"""One grid for periodic work, so a resting hub wakes once for several timers instead of once each.

A loop that sleeps with `sleep_aligned(period)` wakes at the next whole multiple of `period` on the event
loop's clock (`loop.time()`, scheduled with `call_at` on that exact instant): every loop with a period of
10 s falls due at the same instants, the 15 s and 30 s ones on a subset of them, and asyncio runs all
timers due together in one pass. Unaligned, each periodic loop woke the CPU on its own phase (the SHT3x
every 10 s, the fall status every 10 s, the inactivity tick every 15 s, telemetry, ...). The period is
kept; only its phase is shared. `next_instant` is the same instant for a wait with a timeout
(`asyncio.timeout_at`).
"""

from __future__ import annotations

import asyncio
import math

# asyncio runs a timer up to its clock's resolution (1 ns) before its instant, and a loop clock that is a
# sum of floats lands a hair off a whole multiple: a wake-up within this of an instant belongs to it, so
# the next sleep is to the instant after, not the same one again (which fired at once, the loop's work ran
# twice in one instant, and on a virtual clock with a sensor read in a worker thread it spun for ever).
SLACK_S = 1e-6


def next_instant(period: float, now: float) -> float:
    """The next whole multiple of `period` after `now` (loop time); `now` within SLACK_S before a
    multiple counts as that multiple."""
    if period <= 0:
        return now
    return (math.floor((now + SLACK_S) / period) + 1) * period


def delay_to_next(period: float, now: float) -> float:
    """Seconds from `now` to the next whole multiple of `period`."""
    return next_instant(period, now) - now


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def sleep_aligned(period: float) -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(next_instant(period, loop.time()), _wake, fut)
    try:
        await fut
    finally:
        handle.cancel()
