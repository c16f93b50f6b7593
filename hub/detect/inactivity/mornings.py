"""The morning check: not up by the latest time this resident has got up, and nothing since, is unusual.

For each day the hub notes the first activity after `morning_anchor` (04:00) if the resident was at
home overnight, or later the end of a long quiet (`MORNING_GAP_MIN`) begun in the night window: back to
bed after an early visit to the bathroom, the resident got up when that sleep ended. From
`morning_min_days` mornings on, a gap is asked about at the latest of them plus `morning_margin_min`
(docs/detection.md, "Morning check"; the bedtime check, its evening twin, is bedtime.py).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, tzinfo
from typing import Any

from hub.detect.inactivity.anchored import anchor_before, load_rows, minute_of_day
from hub.detect.inactivity.params import Params

MORNING_SPAN_MIN = 12 * 60  # a first activity later than this after the anchor is not "getting up"
MORNING_GAP_MIN = 60.0  # a quiet this long, begun in the night window after the anchor, was more sleep


class Mornings:
    def __init__(self, params: Params, tz: tzinfo) -> None:
        self.p = params
        self.tz = tz
        self.rows: deque[tuple[float, float]] = deque()  # (anchor epoch, minutes after anchor)

    def usual_up(self, now: datetime) -> float | None:
        """Latest learned first-activity time, in minutes after the morning anchor (None: too few)."""
        since = now.timestamp() - self.p.learn_days * 86400
        offsets = [off for anchor, off in self.rows if anchor >= since]
        return max(offsets) if len(offsets) >= self.p.morning_min_days else None

    def due(self, ts: datetime) -> datetime | None:
        """When the morning check falls due for a gap starting at `ts`: the usual getting-up time
        (plus `morning_margin_min`) after it. A gap that starts in the night window after the anchor
        (back to bed after a visit to the bathroom at 04:30) is judged against this morning's, if that
        is at least `early_day_min_min` away, not tomorrow's."""
        up = self.usual_up(ts)
        if up is None:
            return None
        due = self.anchor_before(ts) + timedelta(minutes=up + self.p.morning_margin_min)
        if not self.p.in_night(minute_of_day(ts, self.tz)) or due - ts < timedelta(minutes=self.p.early_day_min_min):
            due += timedelta(days=1)
        return due

    def note(self, ts: datetime, last_ts: datetime, first_seen: datetime | None) -> None:
        """Today's "up" time, while at home: the first activity since today's anchor, or later the end
        of a long gap (`MORNING_GAP_MIN`) that started in the night window: back to bed after an early
        visit to the bathroom, the resident got up when that sleep ended."""
        anchor = self.anchor_before(ts)
        offset = (ts - anchor).total_seconds() / 60
        fresh = first_seen is not None and first_seen < anchor
        if not fresh or offset >= MORNING_SPAN_MIN:
            return
        if last_ts < anchor:
            self.rows.append((anchor.timestamp(), offset))
        elif self.rows and self.rows[-1][0] == anchor.timestamp() and self.p.in_night(minute_of_day(last_ts, self.tz)) \
                and (ts - last_ts).total_seconds() >= MORNING_GAP_MIN * 60:
            self.rows[-1] = (anchor.timestamp(), offset)
        since = ts.timestamp() - self.p.learn_days * 86400
        while self.rows and self.rows[0][0] < since:
            self.rows.popleft()

    def load(self, rows: Any) -> None:
        load_rows(self.rows, rows)

    def anchor_before(self, ts: datetime) -> datetime:
        return anchor_before(ts, self.tz, self.p.morning_anchor_min)

