"""Call buttons on the lgpio chip model's lines, driven like real contacts: leading-edge debounce and hold
timing. On a virtual-time loop (tests/virtual_time.py), so the measured hold times are exact on a busy
machine; the loop's clock waits while an edge is on its way from the model's alert thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from virtual_time import LoopClock, VirtualTimeLoop

from drivers.fakes.gpiochip import FakeLgpio
from drivers.gpiochip import GpioChip
from hub.core.buttons import ButtonBank
from hub.core.lines import Lines

T = TypeVar("T")
START = datetime(2025, 1, 1, tzinfo=UTC)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


class Pin:
    """Pin 17 of the chip model, as a test drives it."""

    def __init__(self, model: FakeLgpio) -> None:
        self.model = model

    def drive(self, level: str) -> None:
        self.model.drive(17, int(level))


async def _bank(events: list[tuple[str, Any]], hold_s: float = 0.3) -> tuple[ButtonBank, Pin]:
    model = FakeLgpio()
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    loop.hold = model.busy  # virtual time waits for an edge on its way from the alert thread
    bank = ButtonBank(Lines(GpioChip(model)), [{"pin": 17, "bounce_ms": 30}],
                      LoopClock(loop, START), hold_s,
                      on_press=lambda pin, ts: events.append(("press", pin)),
                      on_release=lambda pin, held: events.append(("release", round(held, 1))),
                      on_hold=lambda pin: events.append(("hold", pin)))
    return bank, Pin(model)


async def _edges(pin: Pin, levels: str, gap: float = 0.002) -> None:
    for level in levels:
        pin.drive(level)
        await asyncio.sleep(gap)


def test_a_bouncing_press_is_one_press_at_the_first_edge():
    async def main() -> list[tuple[str, Any]]:
        events: list[tuple[str, Any]] = []
        bank, pin = await _bank(events)
        with bank:
            await _edges(pin, "01010")  # pressed (low) with three bounces
            assert events == [("press", 17)]
            await asyncio.sleep(0.1)
            await _edges(pin, "10101")  # released with bounces
            await asyncio.sleep(0.06)
        return events

    assert run(main) == [("press", 17), ("release", 0.1)]


def test_bounce_on_release_shorter_than_the_window_does_not_release():
    async def main() -> list[tuple[str, Any]]:
        events: list[tuple[str, Any]] = []
        bank, pin = await _bank(events)
        with bank:
            await _edges(pin, "0")
            await _edges(pin, "10", gap=0.01)  # 10 ms open: contact chatter, still pressed
            await asyncio.sleep(0.05)
            assert bank.is_pressed(17)
            await _edges(pin, "1")
            await asyncio.sleep(0.06)
            assert not bank.is_pressed(17)
        return events

    events = run(main)
    assert [e[0] for e in events] == ["press", "release"]


def test_holding_fires_hold_once_after_hold_s_and_a_tap_does_not():
    async def main() -> list[tuple[str, Any]]:
        events: list[tuple[str, Any]] = []
        bank, pin = await _bank(events, hold_s=0.2)
        with bank:
            await _edges(pin, "0")
            await asyncio.sleep(0.1)
            await _edges(pin, "1")
            await asyncio.sleep(0.06)
            await _edges(pin, "0")
            await asyncio.sleep(0.35)
            await _edges(pin, "1")
            await asyncio.sleep(0.06)
        return events

    kinds = [e[0] for e in run(main)]
    assert kinds == ["press", "release", "press", "hold", "release"]


def test_close_is_idempotent():
    async def main() -> None:
        bank, _ = await _bank([])
        bank.close()
        bank.close()

    run(main)
