"""When a health alert goes out again. Per meter and reason: the first urgent reading raises
`health.alert`; within `alert_repeat_min` a reading no worse than the last alerted one is published
with `repeat_of` (the alert it repeats) instead of a second alert, and a worse one raises at once and
becomes the new reference. The window runs from the last alert raised. Kept in memory: after a restart
the next urgent reading alerts, which errs on the side of telling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Raised:
    at: datetime
    severity: float
    alert_id: str


class AlertGate:
    def __init__(self, window_min: float) -> None:
        self.window = timedelta(minutes=window_min)
        self._last: dict[tuple[str, str], Raised] = {}

    def repeat_of(self, meter: str, reason: str, severity: float, now: datetime) -> str | None:
        """The id of the alert this reading repeats, or None when it must raise its own."""
        last = self._last.get((meter, reason))
        # A last alert "in the future" means the wall clock was set back since: the window is over.
        if last is None or not timedelta(0) <= now - last.at < self.window or severity > last.severity:
            return None
        return last.alert_id

    def raised(self, meter: str, reason: str, severity: float, now: datetime, alert_id: str) -> None:
        self._last[(meter, reason)] = Raised(now, severity, alert_id)
