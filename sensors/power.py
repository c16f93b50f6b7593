"""Mains power status from a UPS HAT's outputs: power-good (high = mains present), low battery (low)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PowerInputs:
    """`on_change` (optional) runs on the GPIO library's thread at every edge of either line."""

    def __init__(self, lines: Any, good_pin: int, low_battery_pin: int | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.part = f"UPS power-good GPIO{good_pin}"
        # The HAT drives the line; the internal pull-down makes an unplugged wire read "mains lost",
        # which is the safe way to fail.
        changed = None if on_change is None else (lambda level: on_change())
        self._good = lines.input(good_pin, pull_up=False, on_change=changed)
        self._low: Any = None
        if low_battery_pin is not None:  # open collector, pulled up: low is the fault
            self._low = lines.input(low_battery_pin, pull_up=True, on_change=changed)

    @property
    def mains_ok(self) -> bool:
        return bool(self._good.value)

    @property
    def battery_low(self) -> bool:
        return bool(self._low is not None and not self._low.value)

    def close(self) -> None:
        for device in (self._good, self._low):
            if device is not None:
                device.close()
