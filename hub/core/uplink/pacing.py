"""How many backlog rows the drain keeps in flight: enough to keep the broker busy, few enough that a call
sent behind them waits for little.

A call and the backlog share one TCP stream to the broker, and the broker handles a stream in order: a
call published while N backlog rows are in flight reaches the platform only after the broker has taken
those N. On a quick broker that is nothing; on a slow or busy one (measured on a loaded machine: 30 rows
in flight, ~160 rows/s through the broker, a call ~190 ms behind them) it is the whole wait. Rows in
flight beyond what keeps the broker busy add no throughput, only queue (bufferbloat).

So the window follows the PUBACK round trip, as TCP Vegas does: the lowest round trip seen lately is
the path itself (the base); a round trip above it means rows waiting in a queue, about
`window × (1 - base / rtt)` of them. Once per round trip (a window's worth of PUBACKs, judged by the
quickest of them, which filters out a scheduler's jitter) the window grows by one row while fewer than
`ALPHA` rows wait, and shrinks by one while more than `BETA` do, never below `FLOOR`. A call then
queues behind a few rows at most while the broker still has rows waiting. On a machine whose scheduler
adds tens of ms of jitter to every round trip the base is an optimistic sample and the window stays
smaller than the broker could take, which costs drain rate (docs/architecture.md, issue 23's figures).
The window never exceeds the in-flight ceiling the uplink allows for a backlog
(max_inflight, the broker's Receive Maximum, less the urgent slots). The round trip is as the loop
reads it, so a loop slowed by the drain's own work holds the window back too.
"""

from __future__ import annotations

import math

ALPHA, BETA = 3.0, 6.0  # rows waiting at the broker: grow below ALPHA, shrink above BETA (Vegas)
FLOOR = 2  # rows in flight at least: one being handled, one waiting
START = 8  # rows in flight before the first round trip is measured
BASE_PERIOD_S = 10.0  # the base round trip is the lowest of this period and the last one


class DrainPace:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.window = min(START, self.ceiling)
        self._sent: dict[int, float] = {}  # mid -> loop time handed to paho
        self._base = math.inf  # lowest round trip of the current period
        self._last_base = math.inf  # ... of the period before
        self._period_end: float | None = None
        self._round_min = math.inf  # quickest round trip of this round
        self._round_acks = 0

    def allowed(self, ceiling: int) -> int:
        """Backlog rows that may be in flight now (`ceiling`: what the uplink allows at most)."""
        self.ceiling = max(1, ceiling)
        return max(1, min(self.ceiling, self.window))

    def sent(self, mid: int, now: float) -> None:
        self._sent[mid] = now

    def acked(self, mid: int, now: float) -> None:
        sent = self._sent.pop(mid, None)
        if sent is None:
            return  # resent after a reconnect, or not a backlog row: no clean round trip
        rtt = now - sent
        if self._period_end is None or now >= self._period_end:
            # Forget an old minimum slowly: the path may have become slower for good (a busier broker).
            self._last_base, self._base = self._base, math.inf
            self._period_end = now + BASE_PERIOD_S
        self._base = min(self._base, rtt)
        self._round_min = min(self._round_min, rtt)
        self._round_acks += 1
        if self._round_acks < min(self.window, self.ceiling):
            return
        waiting = self.window * (1 - self.base_rtt / self._round_min) if self._round_min > 0 else 0.0
        if waiting < ALPHA:
            self.window += 1
        elif waiting > BETA:
            self.window -= 1
        self.window = min(self.ceiling, max(FLOOR, self.window))
        self._round_min, self._round_acks = math.inf, 0

    def reset(self) -> None:
        """A new connection: rows in flight are resent by paho, their send times are no longer clean."""
        self._sent.clear()
        self._round_min, self._round_acks = math.inf, 0

    @property
    def base_rtt(self) -> float:
        return min(self._base, self._last_base)
