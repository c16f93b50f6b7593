"""The bedtime check, for homes with a bed mat: not in bed by the latest time this resident has gone
to bed, and nothing since, is unusual.

At night anything can be the last thing before sleep, so the learned night limit after sitting down
in the armchair at 01:00 is the longest night gap — the sleep — and the morning check comes at the
usual getting-up time: an incapacitation in the armchair after midnight was found after lunch. With a
bed mat the hub knows where the resident sleeps. Each night's sleep (the first bed rest of
`SLEEP_MIN` or more begun after `ANCHOR_MIN`, noon) gives that night's bedtime; from
`morning_min_days` nights on, a gap that begins before the latest of them, away from bed, is asked
about at that time plus `morning_margin_min` if it is at least `early_day_min_min` away. Falling
asleep in bed earlier than usual asks nothing (the mat says so); a night later than any before asks
once. Homes without a bed mat never learn a bedtime and never ask.

The same mat says when the resident is out of bed at night (`out_of_bed`): in bed since noon, in the
night window now, and off every mat (routine.py judges such a silence against the home's silences
off every mat, not against its sleeps).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, tzinfo
from typing import Any

from hub.detect.inactivity.anchored import anchor_before, load_rows, minute_of_day
from hub.detect.inactivity.params import Params

ANCHOR_MIN = 12 * 60  # bedtimes counted from noon: an evening and the night after it are one night
SLEEP_MIN = 180.0  # a bed rest at least this long is the night's sleep, not a lie-down


def is_bed(source: str) -> bool:
    """A bed mat going ON: `P-<place>-<name>:ON` with "bed" in its place or name."""
    name, _, state = source.rpartition(":")
    return state == "ON" and name.startswith("P-") and "bed" in name[2:].lower()


class Bedtimes:
    def __init__(self, params: Params, tz: tzinfo) -> None:
        self.p = params
        self.tz = tz
        self.rows: deque[tuple[float, float]] = deque()  # (noon anchor epoch, minutes after it)
        self.last_in_bed: datetime | None = None  # the bed mat's last ON (not saved: a restart waits for the next)

    def seen(self, ts: datetime, source: str) -> None:
        """An activity: a bed mat going ON is the resident in bed (`out_of_bed`)."""
        if is_bed(source):
            self.last_in_bed = ts

    def out_of_bed(self, ts: datetime, resting: bool) -> bool:
        """A gap starting at `ts` off every mat (`resting` False) is the resident out of bed at night:
        this home has a learned bedtime (a bed mat), `ts` is in the night window, and the bed was
        occupied since the last noon, in the night window or the `evening_h` before it (an afternoon
        nap in bed is not tonight's sleep)."""
        if resting or self.last_in_bed is None or self.latest(ts) is None:
            return False
        p, bed = self.p, minute_of_day(self.last_in_bed, self.tz)
        late = p.in_night(bed) or (p.night_start_min - bed) % 1440 < p.evening_h * 60
        return p.in_night(minute_of_day(ts, self.tz)) and late and self.last_in_bed >= self._anchor_before(ts)


    def note(self, start: datetime, source: str, dur_s: float) -> None:
        """A learned gap: if it was a night's sleep in bed, its start is that night's bedtime."""
        if not is_bed(source) or dur_s < SLEEP_MIN * 60:
            return
        anchor = self._anchor_before(start)
        offset = (start - anchor).total_seconds() / 60
        if self.rows and self.rows[-1][0] == anchor.timestamp():
            if offset < self.rows[-1][1]:  # back to bed after a visit to the bathroom: the first counts
                self.rows[-1] = (anchor.timestamp(), offset)
        else:
            self.rows.append((anchor.timestamp(), offset))
        since = start.timestamp() - self.p.learn_days * 86400
        while self.rows and self.rows[0][0] < since:
            self.rows.popleft()

    def latest(self, now: datetime) -> float | None:
        """The latest learned bedtime, minutes after noon (None: fewer than `morning_min_days`)."""
        since = now.timestamp() - self.p.learn_days * 86400
        offsets = [off for anchor, off in self.rows if anchor >= since]
        return max(offsets) if len(offsets) >= self.p.morning_min_days else None

    def due(self, ts: datetime) -> datetime | None:
        """When to ask about a gap that starts at `ts` away from bed (None: no bedtime check)."""
        latest = self.latest(ts)
        if latest is None:
            return None
        due = self._anchor_before(ts) + timedelta(minutes=latest + self.p.morning_margin_min)
        return due if due - ts >= timedelta(minutes=self.p.early_day_min_min) else None

    def load(self, rows: Any) -> None:
        load_rows(self.rows, rows)

    def _anchor_before(self, ts: datetime) -> datetime:
        return anchor_before(ts, self.tz, ANCHOR_MIN)
