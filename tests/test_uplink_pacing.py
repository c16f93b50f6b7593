"""The drain's in-flight window (hub.core.uplink.pacing.DrainPace): it keeps the backlog's PUBACK round
trip (what a call sent now waits behind it at the broker) within a time budget, so a quick broker gets
the whole window and a slow one only a few rows; never below FLOOR, never past the uplink's ceiling."""

from __future__ import annotations

from hub.core.uplink.pacing import FLOOR, START, DrainPace


def drive(pace: DrainPace, rtt: float, rounds: int, t: float = 100.0, ceiling: int = 30) -> float:
    """`rounds` round trips in which every row in the window comes back after `rtt`."""
    mid = 0
    for _ in range(rounds):
        n = pace.allowed(ceiling)
        for _ in range(n):
            mid += 1
            pace.sent(mid, t)
        t += rtt
        for m in range(mid - n + 1, mid + 1):
            pace.acked(m, t)
    return t


def test_a_quick_broker_gets_the_whole_window() -> None:
    pace = DrainPace(30, target_s=0.010)
    assert pace.allowed(30) == START
    drive(pace, 0.004, 40)  # 30 rows ahead of a call cost it 4 ms: well within the budget
    assert pace.allowed(30) == 30  # never past the ceiling
    assert pace.allowed(12) == 12  # the broker's Receive Maximum came down


def test_a_slow_broker_shrinks_the_window_at_once_and_it_grows_back_a_row_per_round() -> None:
    pace = DrainPace(30, target_s=0.010)
    t = drive(pace, 0.002, 40)
    assert pace.allowed(30) == 30
    t = drive(pace, 0.050, 1, t)  # the broker slowed down 25x: a call would wait 50 ms behind the window
    assert pace.allowed(30) == 15  # halved in one round, not walked down a row at a time
    t = drive(pace, 0.050, 10, t)
    assert pace.allowed(30) == FLOOR  # and down to the floor while it stays slow
    t = drive(pace, 0.015, 3, t)  # over the budget but not twice it: stays at the floor
    assert pace.allowed(30) == FLOOR
    drive(pace, 0.002, 5, t)  # quick again: one more row per round trip
    assert pace.allowed(30) == FLOOR + 5


def test_a_round_trip_just_over_the_budget_takes_one_row_per_round() -> None:
    pace = DrainPace(30, target_s=0.010)
    t = drive(pace, 0.002, 40)
    drive(pace, 0.012, 3, t)
    assert pace.allowed(30) == 27


def test_one_quick_pack_in_a_round_is_enough_to_count_it_as_quick() -> None:
    # A scheduler's hiccup delays most PUBACKs of a round; the round is judged by its quickest.
    pace = DrainPace(30, target_s=0.010)
    n = pace.allowed(30)
    for mid in range(1, n + 1):
        pace.sent(mid, 100.0)
    pace.acked(1, 100.003)
    for mid in range(2, n + 1):
        pace.acked(mid, 100.200)
    assert pace.allowed(30) == START + 1 and abs(pace.last_rtt - 0.003) < 1e-9


def test_rows_resent_after_a_reconnect_do_not_count() -> None:
    pace = DrainPace(30)
    pace.sent(1, 100.0)
    pace.reset()
    pace.acked(1, 200.0)  # a 100 s "round trip" across a reconnect: no measure
    pace.acked(2, 200.0)  # never sent as a backlog row (a call, a status)
    assert pace.allowed(30) == START and pace.last_rtt == float("inf")
