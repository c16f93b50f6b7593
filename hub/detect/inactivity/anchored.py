"""What the morning and bedtime records share: a time of day each day is measured from (the anchor), and
rows of (anchor epoch, minutes after it) read back from the saved state."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, tzinfo
from typing import Any


def anchor_before(ts: datetime, tz: tzinfo, minute_of_day: int) -> datetime:
    """The last `minute_of_day` (local time in `tz`) at or before `ts`."""
    local = ts.astimezone(tz)
    anchor = local.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0, microsecond=0)
    return anchor if anchor <= local else anchor - timedelta(days=1)


def load_rows(into: deque[tuple[float, float]], rows: Any) -> None:
    """Append the saved rows that read as two numbers; skip any other (a hand-edited or older file)."""
    for row in rows or []:
        try:
            into.append((float(row[0]), float(row[1])))
        except (TypeError, ValueError, IndexError):
            continue
