"""The daily check-in, "报平安": a window each day in which one short press says "I am fine".

In reassurance schemes this is the most frequent reason a resident presses: a daily sign of life
that a duty operator would otherwise get by telephone. Pure and clock-injected, like the
inactivity detector:

- In the window (local `start`-`end`), the first press of the day is the check-in ("我很好"): it is
  claimed (no call), spoken back, reported as `checkin.ok`, and counts as strong evidence of
  wellbeing (the inactivity detector hears it as activity). A second press is a call as always.
- The window closes without a check-in: if there was activity since the window opened, the resident
  is about but forgot; nothing is raised (status says "missed"). With no activity at all, the
  escalation is gentle: first a spoken question ("今天还没有报平安，您还好吗？请按按钮"); a press or any
  activity within `wait_s` answers it; otherwise `checkin.missed` goes to the platform, once a day.
- Away mode: nothing is expected. A window that opened before the hub started is not followed up
  (what happened before is unknown); a press in it still checks in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

Kind = Literal["ok", "ask", "answered", "missed"]


@dataclass(frozen=True)
class CheckinDecision:
    kind: Kind
    at: datetime
    asked_at: datetime | None = None
    last_activity: datetime | None = None


class Checkin:
    def __init__(self, start_min: int, end_min: int, wait_s: float, tz: tzinfo,
                 since: datetime | None = None) -> None:
        self.start_min, self.end_min, self.wait_s, self.tz = start_min, end_min, wait_s, tz
        self.since = since  # watching from (hub start): a window that opened before is not followed up
        self.day: date | None = None  # the day whose window is being followed
        self.done: datetime | None = None  # when today's check-in came
        self.asked: datetime | None = None
        self.escalated = False
        self.missed = False
        self.last_activity: datetime | None = None
        self.away = False

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """Today's window (local), as aware datetimes."""
        local = now.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + timedelta(minutes=self.start_min), midnight + timedelta(minutes=self.end_min)

    def claims(self, now: datetime) -> bool:
        """Would a press now be the check-in (or the answer to the question)?"""
        self._roll(now)
        if self.away or self.escalated:
            return False
        start, end = self.window(now)
        return (self.done is None and start <= now < end) or self.asked is not None

    def press(self, now: datetime) -> list[CheckinDecision]:
        """A call-button press that `claims` took."""
        out = self.tick(now)
        if self.asked is not None and not self.escalated:
            out.append(CheckinDecision("answered", now, self.asked))
            self.asked, self.done = None, now
        elif self.done is None and self.claims(now):
            self.done = now
            out.append(CheckinDecision("ok", now))
        self.last_activity = now
        return out

    def activity(self, now: datetime) -> list[CheckinDecision]:
        out = self.tick(now)
        self.last_activity = now
        if self.asked is not None and not self.escalated:
            out.append(CheckinDecision("answered", now, self.asked))
            self.asked = None
        return out

    def tick(self, now: datetime) -> list[CheckinDecision]:
        """What fell due up to `now`: the question when the window closed unchecked and silent, then
        `missed` once nothing answered it within `wait_s`. Times are nominal (when they fell due)."""
        self._roll(now)
        out: list[CheckinDecision] = []
        start, end = self.window(now)
        if not self.away and self.done is None and not self.missed and now >= end:
            self.missed = True
            watched = self.since is None or self.since <= start  # nothing is known from before the start
            if watched and (self.last_activity is None or self.last_activity < start):
                self.asked = end  # no check-in and no sign of life since the window opened
                out.append(CheckinDecision("ask", end, None, self.last_activity))
        if self.asked is not None and not self.escalated and now >= self.asked + timedelta(seconds=self.wait_s):
            self.escalated = True
            out.append(CheckinDecision("missed", self.asked + timedelta(seconds=self.wait_s), self.asked,
                                       self.last_activity))
        return out

    def status(self, now: datetime) -> str:
        self._roll(now)
        if self.away:
            return "away"
        if self.done is not None:
            return "done"
        if self.escalated:
            return "escalated"
        if self.asked is not None:
            return "asking"
        if self.missed:
            return "missed"
        start, end = self.window(now)
        return "open" if start <= now < end else "waiting"

    def _roll(self, now: datetime) -> None:
        """A new local day: a new window (a question still waiting is carried over)."""
        today = now.astimezone(self.tz).date()
        if self.day != today:
            if self.day is not None and self.asked is not None and not self.escalated:
                return  # finish yesterday's question first
            self.day, self.done, self.missed, self.escalated, self.asked = today, None, False, False, None
