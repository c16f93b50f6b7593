"""hub.core.clock: a wall-clock step is told to the `on_step` listeners before any reading returns the new
time, on whichever thread the readings come (gpiozero stamps motion on its own thread while the loop ticks)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from hub.core.clock import Clock, ManualClock

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
YEAR_S = 365 * 86400.0


def test_a_reading_on_another_thread_during_the_step_waits_until_the_listeners_are_told() -> None:
    clock = ManualClock(START)
    clock.now()  # the first reading: the offset to compare with
    told: list[float] = []
    seen_by_other: list[tuple[datetime, list[float]]] = []
    other_returned = threading.Event()

    def other_reader() -> None:  # reads while the first reader is telling the listeners
        now = clock.now()
        seen_by_other.append((now, list(told)))
        other_returned.set()

    def first_listener(step: float) -> None:
        reader = threading.Thread(target=other_reader)
        reader.start()
        # Give the other reading every chance to slip through before the second listener is told. It must
        # not: it waits for the step to be told. (Nothing is asserted on time; the wait only leaves room.)
        other_returned.wait(0.5)
        told.append(step)

    clock.on_step(first_listener)
    clock.step_wall(YEAR_S)
    assert clock.now() == START.replace(year=2025) and told == [YEAR_S]
    assert other_returned.wait(10)
    ((now, told_then),) = seen_by_other
    assert now == START.replace(year=2025) and told_then == [YEAR_S]  # the new time only once it was told
    assert clock.steps == [YEAR_S]  # one step, told once


def test_a_listener_may_read_the_clock_and_slewing_is_no_step() -> None:
    clock = Clock(step_s=60.0)
    readings: list[datetime] = []
    clock.on_step(lambda _s: readings.append(clock.now()))  # the same thread again: no deadlock
    clock.now()
    clock.step_wall(-3600)
    stepped = clock.now()
    assert [round(s) for s in clock.steps] == [-3600] and len(readings) == 1
    assert abs((readings[0] - stepped).total_seconds()) < 60  # the listener read the new time, not the old
    clock.step_wall(30)  # within step_s: followed, not a step
    clock.now()
    assert len(clock.steps) == 1
