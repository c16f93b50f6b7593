"""The pooled window of the learned limit (`Routine._width`): a time of day with fewer than
`min_samples` gaps within `window_h` borrows from the neighbouring hours (doubling the window, at most
the whole day) instead of keeping the conservative start-up limit; one with enough keeps its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.detect.inactivity.anchored import minute_of_day
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.routine import Routine

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # 00:00
M = timedelta(minutes=1)


def routine_with(gaps: list[tuple[int, float]], days: int = 10) -> Routine:
    """Every day, a gap of `minutes` after `pir:kitchen` starting at each (hour, minutes)."""
    r = Routine(Params(), UTC)
    r.first_seen = T0
    for d in range(days):
        for hour, minutes in gaps:
            r.add_sample(T0 + timedelta(days=d, hours=hour), "pir:kitchen", minutes * 60)
    return r


def test_a_sparse_hour_borrows_from_its_neighbours() -> None:
    r = routine_with([(9, 20), (10, 20), (11, 20)])  # 30 gaps, all in the morning
    at = T0 + timedelta(days=10, hours=16)  # nothing within 2 h of 16:00; within 8 h, all 30
    assert r._width(minute_of_day(at, r.tz), 0.0) == 8.0
    limit, normal, basis = r.expectation("pir:kitchen", at)
    assert basis == "learned" and normal == 20 * 60
    assert limit < r._start_limit(minute_of_day(at, r.tz))  # shorter than the 6 h the start-up limit would keep


def test_an_hour_with_enough_gaps_keeps_its_own_window() -> None:
    r = routine_with([(9, 20), (10, 20), (11, 20), (20, 180)])
    at = T0 + timedelta(days=10, hours=10)
    assert r._width(minute_of_day(at, r.tz), 0.0) == Params().window_h
    assert r.expectation("pir:kitchen", at)[1] == 20 * 60  # the evening's 3 h sits are not pooled


def test_too_few_gaps_all_day_keeps_the_start_up_limit() -> None:
    r = routine_with([(10, 20)], days=20)  # 20 gaps in the whole day, min_samples 30
    at = T0 + timedelta(days=20, hours=16)
    assert r._width(minute_of_day(at, r.tz), 0.0) == 12.0
    assert r.expectation("pir:kitchen", at)[2] == "fallback"
