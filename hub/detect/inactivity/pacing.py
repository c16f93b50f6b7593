"""The ceiling on questions: early checks pause while the unit has asked too often lately.

The early check's threshold is learned from a budget (`early_checks_per_day`, routine.py) that assumes the
home's gaps stay as they were learned. When they do not — a home whose exit door is not wired, so absences
read as silences; a seat or bedroom door missing, so rests are unseen; a resident whose week changes — the
same rule asks every day, and a resident asked "您还好吗？" daily stops answering (each unanswered question
is an alarm). So the questions actually asked are counted, all kinds, over the last `check_window_days`,
and while they reach `checks_per_day_max` a new gap gets no early check: it waits for its full limit, the
morning or bedtime check or a community rule, which are never withheld. Only the times are kept (a few
dozen numbers, saved with the history).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from hub.detect.inactivity.params import Params


class CheckPace:
    def __init__(self, params: Params) -> None:
        self.p = params
        self.asked: deque[float] = deque()  # epoch seconds of each check asked, oldest first

    def note(self, at: datetime) -> None:
        """A check was asked at `at`."""
        self.asked.append(at.timestamp())
        self._prune(at.timestamp())

    def over(self, ts: datetime, days_learned: float) -> bool:
        """The checks asked over the last `check_window_days` (or the history, if shorter) have reached
        `checks_per_day_max` per day: no early check for a gap starting at `ts`. Never before
        `learn_min_days` (no early check exists yet to withhold)."""
        p = self.p
        if p.checks_per_day_max <= 0 or days_learned < p.learn_min_days:
            return False
        return self.count(ts, days_learned) >= p.checks_per_day_max * min(days_learned, p.check_window_days)

    def count(self, ts: datetime, days_learned: float) -> int:
        """Checks asked over the last `check_window_days` (or the history, if shorter) before `ts`."""
        since = ts.timestamp() - min(days_learned, self.p.check_window_days) * 86400
        return sum(1 for t in self.asked if since <= t <= ts.timestamp())

    def _prune(self, now: float) -> None:
        while self.asked and self.asked[0] < now - self.p.check_window_days * 86400:
            self.asked.popleft()

    def to_list(self) -> list[float]:
        return [round(t, 1) for t in self.asked]

    def load(self, rows: object) -> None:
        """Restore `to_list()` output; entries that are not numbers are skipped."""
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, int | float) and not isinstance(row, bool):
                self.asked.append(float(row))
        self.asked = deque(sorted(self.asked))
