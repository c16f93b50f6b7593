"""What the routine, the morning and bedtime records and the rules share: the minute of the local day, a
time of day each day is measured from (the anchor), and rows of (anchor epoch, minutes after it) read
back from the saved state."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, tzinfo
from typing import Any


def minute_of_day(ts: datetime, tz: tzinfo) -> float:
    """Minutes since local midnight in `tz`, seconds included."""
    local = ts.astimezone(tz)
    return local.hour * 60 + local.minute + local.second / 60


def anchor_before(ts: datetime, tz: tzinfo, at_min: int) -> datetime:
    """The last `at_min` (minute of the local day in `tz`) at or before `ts`."""
    local = ts.astimezone(tz)
    anchor = local.replace(hour=at_min // 60, minute=at_min % 60, second=0, microsecond=0)
    return anchor if anchor <= local else anchor - timedelta(days=1)


def load_rows(into: deque[tuple[float, float]], rows: Any) -> None:
    """Append the saved rows that read as two numbers; skip any other (a hand-edited or older file)."""
    for row in rows or []:
        try:
            into.append((float(row[0]), float(row[1])))
        except (TypeError, ValueError, IndexError):
            continue
