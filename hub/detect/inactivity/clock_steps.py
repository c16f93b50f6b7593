"""Wall-clock steps (NTP, RTC) seen by the inactivity component: noted on any thread (inside
ctx.clock.now(), the GPIO alert thread stamps motion), taken on the loop before the detector is next
used, so a step is never read as hours of stillness."""

from __future__ import annotations

import threading


class ClockSteps:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = 0.0  # seconds stepped, not yet applied

    def note(self, seconds: float) -> None:
        with self._lock:
            self._pending += seconds

    def take(self) -> float:
        """The steps seen since the last take (0.0: none)."""
        with self._lock:
            seconds, self._pending = self._pending, 0.0
        return seconds
