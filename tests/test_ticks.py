"""The shared grid of periodic timers (hub.core.ticks): loops with commensurate periods fall due at the
same instants, so asyncio runs them in one pass (one wake-up) instead of each on its own phase."""

from __future__ import annotations

import asyncio
import random

import pytest

from hub.core.ticks import delay_to_next, next_instant, sleep_aligned


@pytest.mark.parametrize("now", [0.0, 3.2, 9.999, 10.0, 12345.678, 86400.5])
def test_the_delay_ends_on_a_whole_multiple_of_the_period(now: float) -> None:
    delay = delay_to_next(10.0, now)
    assert 0 < delay <= 10.0
    assert (now + delay) / 10.0 == pytest.approx(round((now + delay) / 10.0), abs=1e-9)


def test_loops_of_10_15_and_30_s_share_their_instants() -> None:
    rng = random.Random(23)
    for _ in range(200):
        now = rng.uniform(0, 1e6)
        ten, fifteen, thirty = (next_instant(p, now) for p in (10.0, 15.0, 30.0))
        assert thirty % 10.0 == 0 and thirty % 15.0 == 0  # every 30 s instant is a 10 s and a 15 s one
        assert ten - now <= 10.0 and (thirty - now > 10.0 or thirty == ten)
        assert fifteen - now <= 15.0 and (thirty - now > 15.0 or thirty == fifteen)


def test_a_zero_period_does_not_sleep() -> None:
    assert delay_to_next(0.0, 5.0) == 0.0


def test_two_aligned_loops_wake_in_the_same_pass() -> None:
    async def body() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        woke: list[tuple[str, float]] = []
        planned: list[float] = []
        real_call_at = loop.call_at

        def call_at(when: float, *args, **kwargs):  # type: ignore[no-untyped-def]
            planned.append(when)
            return real_call_at(when, *args, **kwargs)

        loop.call_at = call_at  # type: ignore[method-assign]

        async def every(name: str, period: float) -> None:
            for _ in range(2):
                await sleep_aligned(period)
                woke.append((name, period))

        await asyncio.gather(every("a", 0.05), every("b", 0.1))
        loop.call_at = real_call_at  # type: ignore[method-assign]
        # every 0.1 s deadline is one of the 0.05 s deadlines: the same timer instant
        fast = [w for w in planned if abs(w / 0.05 - round(w / 0.05)) < 1e-6]
        assert len(fast) == len(planned)
        return woke

    woke = asyncio.run(body())
    assert sorted(woke) == [("a", 0.05), ("a", 0.05), ("b", 0.1), ("b", 0.1)]


@pytest.mark.parametrize("period", [0.05, 10.0, 15.0, 30.0])
def test_a_wake_a_hair_before_its_instant_sleeps_to_the_next_one(period: float) -> None:
    # asyncio runs a timer up to its clock resolution early; a summed float clock sits 1e-12 off the
    # multiple (599.9999999999982 for 600.0): the next sleep must not be to the instant just served
    for k in (1, 60, 100_000):
        instant = k * period
        for now in (instant - 1e-9, instant - 2e-12, instant, instant + 1e-9):
            assert next_instant(period, now) == pytest.approx((k + 1) * period, abs=1e-9), now

