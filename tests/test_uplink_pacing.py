"""The drain's in-flight window (hub.core.uplink.pacing.DrainPace): it follows the PUBACK round trip, so a
call queued behind the backlog at the broker waits for little, and it never shrinks below what keeps the
broker busy nor grows past the uplink's ceiling."""

from __future__ import annotations

from hub.core.uplink.pacing import BETA, FLOOR, START, DrainPace


def drive(pace: DrainPace, rtt: float, rounds: int, t: float = 100.0) -> float:
    """`rounds` round trips in which every row in the window comes back after `rtt`."""
    mid = 0
    for _ in range(rounds):
        n = pace.allowed(30)
        for _ in range(n):
            mid += 1
            pace.sent(mid, t)
        t += rtt
        for m in range(mid - n + 1, mid + 1):
            pace.acked(m, t)
    return t


def test_a_quick_broker_gets_the_whole_window() -> None:
    pace = DrainPace(30)
    assert pace.allowed(30) == START
    drive(pace, 0.001, 40)
    assert pace.allowed(30) == 30  # never past the ceiling
    assert pace.allowed(12) == 12  # the broker's Receive Maximum came down


def test_a_queue_at_the_broker_shrinks_the_window_to_a_few_waiting_rows_and_it_grows_back() -> None:
    pace = DrainPace(30)
    t = drive(pace, 0.002, 40)  # the path: 2 ms, no queue
    assert pace.allowed(30) == 30
    t = drive(pace, 0.050, 40, t)  # the broker slows down: rows wait in its queue, one row less per round
    w = pace.allowed(30)
    assert w >= FLOOR and w * (1 - 0.002 / 0.050) <= BETA + 1  # a call waits behind a few rows, not 30
    drive(pace, 0.002, 5, t)  # the queue is gone: one more row per round trip
    assert pace.allowed(30) == w + 5


def test_rows_resent_after_a_reconnect_do_not_count() -> None:
    pace = DrainPace(30)
    pace.sent(1, 100.0)
    pace.reset()
    pace.acked(1, 200.0)  # a 100 s "round trip" across a reconnect: no measure
    pace.acked(2, 200.0)  # never sent as a backlog row (a call, a status)
    assert pace.allowed(30) == START and pace.base_rtt == float("inf")
