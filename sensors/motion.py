"""PIR motion (HC-SR501 / AM312 class) on a GPIO through gpiozero's MotionSensor.

The PIR's output is a clean 3.3 V logic level, high while it sees motion (and for its hold time).
Callbacks arrive on gpiozero's sampling thread; the hub hands them to its loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PirInput:
    def __init__(
        self,
        pin_factory: Any,
        pin: int,
        on_motion: Callable[[], None],
        on_still: Callable[[], None] | None = None,
        sample_rate_hz: float = 5.0,
    ) -> None:
        from gpiozero import MotionSensor

        self.pin = pin
        self.part = f"PIR GPIO{pin}"
        # queue_len=1: the PIR does its own filtering, so every level change it reports counts at once.
        # 5 Hz is plenty: a PIR holds its output high for 2 s or more (AM312 ~2 s, HC-SR501 >= 2.5 s), and
        # every sample wakes a thread, which an idle hub on a Pi Zero should not pay 20 times a second.
        self._sensor = MotionSensor(
            pin,
            pull_up=False,
            queue_len=1,
            sample_rate=sample_rate_hz,
            threshold=0.5,
            pin_factory=pin_factory,
        )
        self._sensor.when_motion = lambda: on_motion()
        if on_still is not None:
            self._sensor.when_no_motion = lambda: on_still()

    @property
    def active(self) -> bool:
        return bool(self._sensor.motion_detected)

    def close(self) -> None:
        self._sensor.close()
