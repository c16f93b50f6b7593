"""Mains power status from a UPS HAT's outputs: power-good (high = mains present), low battery (low)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PowerInputs:
    """`on_change` (optional) runs on the GPIO library's thread at every edge of either line."""

    def __init__(self, pin_factory: Any, good_pin: int, low_battery_pin: int | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        from gpiozero import DigitalInputDevice

        self.part = f"UPS power-good GPIO{good_pin}"
        # The HAT drives the line; the internal pull-down makes an unplugged wire read "mains lost",
        # which is the safe way to fail.
        self._good = DigitalInputDevice(good_pin, pull_up=False, pin_factory=pin_factory)
        self._low: Any = None
        if low_battery_pin is not None:
            self._low = DigitalInputDevice(low_battery_pin, pull_up=True, pin_factory=pin_factory)
        if on_change is not None:
            for device in (self._good, self._low):
                if device is not None:
                    device.when_activated = device.when_deactivated = lambda: on_change()

    @property
    def mains_ok(self) -> bool:
        return bool(self._good.is_active)

    @property
    def battery_low(self) -> bool:
        return bool(self._low is not None and self._low.is_active)

    def close(self) -> None:
        for device in (self._good, self._low):
            if device is not None:
                device.close()
