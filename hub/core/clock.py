"""Time for the hub, injectable: tests and `hub sim inactivity` move it, production reads the system.

Two clocks: `monotonic()` for every timer and interval (never jumps), `now()` for time stamps and
time-of-day rules. The wall clock can be *set* — NTP after a boot without network (a Pi has no RTC:
it boots at the last saved time), a wrong RTC, a manual correction — and then it steps, forwards or
backwards, by seconds or by a year. `now()` notices a step (the wall clock moved more than
`STEP_S` away from the monotonic one since the last reading), logs it once and tells the
`on_step` listeners before it returns the new time, so a listener (the inactivity detector) moves its
wall-clock plans before anything stamped with the new time reaches it. That holds across threads (gpiozero
stamps motion on its own thread while the loop ticks): one reading at a time compares and tells, so a
reading that comes while another is telling the listeners waits until they have been told.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.core.listeners import tell_all

log = logging.getLogger(__name__)

STEP_S = 60.0  # wall minus monotonic moved more than this between two readings: the clock was set

StepListener = Callable[[float], None]  # seconds the wall clock jumped (negative: backwards)


def zone_named(name: str) -> tzinfo | None:
    """[hub] timezone as a zone; None (the system's) for a name this system does not know (the coordinator
    says so in the log once, at start)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class Clock:
    """Wall time (aware, local zone) and a monotonic counter that move together.

    `advance()` adds a skew to both, so simulated hours pass without sleeping; `step_wall()` moves
    the wall clock alone, as setting the system time does.
    """

    def __init__(self, zone: tzinfo | None = None, step_s: float = STEP_S) -> None:
        self._skew = 0.0
        self._wall_skew = 0.0
        self.zone = zone
        self.step_s = step_s
        self._offset: float | None = None  # wall - monotonic at the last reading
        self._watching = threading.RLock()  # re-entrant: a listener may read the clock
        self._step_listeners: list[StepListener] = []
        self._advance_listeners: list[StepListener] = []
        self.steps: list[float] = []

    def now(self) -> datetime:
        with self._watching:  # read and compared in one go: a reading taken before a step is not compared after it
            wall, mono = time.time(), time.monotonic()
            self._watch(wall + self._wall_skew - mono)
        return datetime.fromtimestamp(wall + self._skew + self._wall_skew, UTC).astimezone(self.zone)

    def monotonic(self) -> float:
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        self._skew += seconds
        self._advanced(seconds)

    def step_wall(self, seconds: float) -> None:
        """Simulation: set the wall clock `seconds` ahead (or back); the monotonic clock stays."""
        self._wall_skew += seconds

    def on_step(self, listener: StepListener) -> None:
        self._step_listeners.append(listener)

    def on_advance(self, listener: StepListener) -> None:
        """Told after `advance()` (simulated time passing, both clocks): a loop asleep until a time of day
        (the wellbeing day's end) looks again instead of sleeping out the real seconds it computed before."""
        self._advance_listeners.append(listener)

    def _advanced(self, seconds: float) -> None:
        tell_all(self._advance_listeners, "clock advance", seconds)

    def _watch(self, offset: float) -> None:
        # Slewing (NTP's small corrections) moves the offset slowly and is simply followed. Under the lock:
        # without it a second thread's reading could see the offset already moved (no step for it) and
        # return the new time while the first was still to tell the listeners (an inactivity alarm from a
        # plan a year's step had not yet moved: 3 in 200 runs of tests/test_inactivity_component.py's
        # thread test under load, once in CI).
        with self._watching:
            previous, self._offset = self._offset, offset
            if previous is None or abs(offset - previous) <= self.step_s:
                return
            self._stepped(offset - previous)

    def _stepped(self, step: float) -> None:
        self.steps.append(step)
        log.warning("wall clock stepped %s by %.0f s (set by NTP, the RTC or by hand); timers run on the "
                    "monotonic clock and are not moved; event time stamps jump with it (the platform "
                    "orders by seq)", "forwards" if step > 0 else "backwards", abs(step))
        tell_all(self._step_listeners, "clock step", step)


class ManualClock(Clock):
    """A clock that only moves when told: for unit tests of time rules."""

    def __init__(self, start: datetime) -> None:
        super().__init__()
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        with self._watching:
            self._watch(self._now.timestamp() - self._mono)
            return self._now

    def monotonic(self) -> float:
        return self._mono

    def step_wall(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        self._advanced(seconds)
