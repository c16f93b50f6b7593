"""How many backlog rows the drain keeps in flight: enough to keep the broker busy, few enough that a call
sent behind them waits for little.

A call and the backlog share one TCP stream to the broker, and the broker handles a stream in order: a
call published while N backlog rows are in flight reaches the platform only after the broker has taken
those N, i.e. about one backlog round trip (PUBLISH handed to paho -> its PUBACK read by the loop) after
it was sent. On a quick broker that is nothing; on a slow or busy one (measured on a loaded machine: 30
rows in flight, ~160 rows/s through the broker, a call ~190 ms behind them) it is the whole wait.

So the window is set by that round trip against a time budget, `TARGET_S`, not by a count of rows
waiting: once per round (a window's worth of PUBACKs, judged by the quickest of them, which filters out
a scheduler's jitter) the window grows by one row while the round trip is within the budget, shrinks
by one while it is over, and halves when it is over twice the budget (the broker slowed down: the next
call must not wait for a slow walk down). A broker that takes 8,000 rows/s holds the whole window
(30 rows ahead of a call are ~4 ms); one that takes 200 rows/s holds two or three.

An earlier version followed TCP Vegas (grow while fewer than 3 rows wait beyond the lowest round trip
seen): on this machine the lowest round trip was a 0.2 ms outlier, so the window stayed at 6-10 rows
however quick the broker, and the drain ran at a third of raw paho's rate with calls no quicker
(docs/architecture.md, issue 23's figures).

The window never exceeds the in-flight ceiling the uplink allows for a backlog (max_inflight, the
broker's Receive Maximum, less the urgent slots). The round trip is as the loop reads it, so a loop
slowed by the drain's own work holds the window back too.
"""

from __future__ import annotations

import math

TARGET_S = 0.010  # a backlog round trip (what a call sent now waits behind the window) kept within this
FLOOR = 2  # rows in flight at least: one being handled, one waiting
START = 8  # rows in flight before the first round trip is measured


class DrainPace:
    def __init__(self, ceiling: int, target_s: float = TARGET_S) -> None:
        self.ceiling = max(1, ceiling)
        self.target_s = target_s
        self.window = min(START, self.ceiling)
        self._sent: dict[int, float] = {}  # mid -> loop time handed to paho
        self._round_min = math.inf  # quickest round trip of this round
        self._round_acks = 0
        self.last_rtt = math.inf  # the last round's quickest round trip (for `status` and the bench)

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
        self._round_min = min(self._round_min, now - sent)
        self._round_acks += 1
        if self._round_acks < min(self.window, self.ceiling):
            return
        rtt = self.last_rtt = self._round_min
        if rtt > 2 * self.target_s:
            self.window //= 2
        elif rtt > self.target_s:
            self.window -= 1
        elif self.window < self.ceiling:
            self.window += 1
        self.window = min(self.ceiling, max(FLOOR, self.window))
        self._round_min, self._round_acks = math.inf, 0

    def reset(self) -> None:
        """A new connection: rows in flight are resent by paho, their send times are no longer clean."""
        self._sent.clear()
        self._round_min, self._round_acks = math.inf, 0
