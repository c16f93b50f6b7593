"""Time for the hub, injectable: tests and `hub sim inactivity` move it, production reads the system."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo


class Clock:
    """Wall time (aware, local zone) and a monotonic counter that move together.

    `advance()` adds a skew to both, so simulated hours pass without sleeping.
    """

    def __init__(self, zone: tzinfo | None = None) -> None:
        self._skew = 0.0
        self.zone = zone

    def now(self) -> datetime:
        return (datetime.now(UTC) + timedelta(seconds=self._skew)).astimezone(self.zone)

    def monotonic(self) -> float:
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        self._skew += seconds


class ManualClock(Clock):
    """A clock that only moves when told: for unit tests of time rules."""

    def __init__(self, start: datetime) -> None:
        super().__init__()
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
