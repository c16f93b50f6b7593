"""PIR motion (HC-SR501 / AM312 class) on a GPIO, by edge callbacks.

The PIR's output is a clean 3.3 V logic level, high while it sees motion (and for its hold time). A plain
`DigitalInputDevice` with a short bounce time: each edge is one callback, nothing samples the line (gpiozero's
`MotionSensor` runs a queue thread that wakes the CPU five times a second, and blocks its first caller for
a sample). Callbacks arrive on the GPIO library's thread; the hub hands them to its loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BOUNCE_S = 0.05  # a PIR's output is a driven logic level; this only ignores a glitch on a long lead


class PirInput:
    def __init__(
        self,
        pin_factory: Any,
        pin: int,
        on_motion: Callable[[], None],
        on_still: Callable[[], None] | None = None,
    ) -> None:
        from gpiozero import DigitalInputDevice

        self.pin = pin
        self.part = f"PIR GPIO{pin}"
        self._sensor = DigitalInputDevice(pin, pull_up=False, bounce_time=BOUNCE_S, pin_factory=pin_factory)
        self._sensor.when_activated = lambda: on_motion()
        if on_still is not None:
            self._sensor.when_deactivated = lambda: on_still()

    @property
    def active(self) -> bool:
        return bool(self._sensor.is_active)

    def close(self) -> None:
        self._sensor.close()
