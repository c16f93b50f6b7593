"""What a report shows, gathered from the unit's own files (no network, no raw sensor log):
the daily summaries (hub.wellbeing.history) and the meters' graded readings (sensors.meters.store).

Kept apart from the drawing so a test can check the figures the chart was drawn from, and
`hub report --data-out` can hand them to someone who would rather read numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from hub.wellbeing.history import FILENAME, read_days
from hub.wellbeing.norm import MIN_DAYS

METERS_FILE = "meters.sqlite"


@dataclass
class ReportData:
    hub_id: str
    first: str  # ISO dates of the period, inclusive
    last: str
    days: list[dict[str, Any]] = field(default_factory=list)  # daily summaries in the period, oldest first
    bp: list[tuple[str, float, float]] = field(default_factory=list)  # (local ISO time, systolic, diastolic)
    glucose: list[tuple[str, float, str | None]] = field(default_factory=list)  # (local ISO time, mmol/L, meal)
    day_start: str = "00:00"  # a wellbeing day runs from this time to the same time next day ([wellbeing])
    judged: int = 0  # days of the period that had a norm to be judged against (hub.wellbeing.norm.MIN_DAYS)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(state_dir: Path, hub_id: str, days: int, today: date, zone: tzinfo | None,
            day_start: time = time(0, 0)) -> ReportData:
    """The `days` days up to and including the last complete wellbeing day before `today`, or today's when
    it was closed early (the demo's `hub sim wellbeing close`: it is on record, so it is shown). Readings are
    taken by wellbeing day too: one at 02:00 belongs to the day that began the morning before."""
    known = read_days(Path(state_dir) / FILENAME)
    closed_today = any(d.get("date") == today.isoformat() for d in known)
    last = today if closed_today else today - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    summaries = [d for d in known if first.isoformat() <= d["date"] <= last.isoformat()]
    data = ReportData(hub_id, first.isoformat(), last.isoformat(), summaries, day_start=day_start.strftime("%H:%M"),
                      judged=_judged(known, summaries))
    meters = Path(state_dir) / METERS_FILE
    if meters.exists():
        from sensors.meters.store import MeterStore

        since = datetime.combine(first, day_start, zone).astimezone()
        until = datetime.combine(last + timedelta(days=1), day_start, zone).astimezone()
        store = MeterStore(meters)
        try:
            for ts, a, b, _meal in store.history_at("bp", since):
                when = _local(ts, zone)
                if b is not None and when < until:
                    data.bp.append((when.isoformat(timespec="minutes"), a, b))
            for ts, a, _b, meal in store.history_at("glucose", since):
                when = _local(ts, zone)
                if when < until:
                    data.glucose.append((when.isoformat(timespec="minutes"), a, meal))
        finally:
            store.close()
    return data


def _local(utc_key: str, zone: tzinfo | None) -> datetime:
    return datetime.fromisoformat(utc_key.replace("Z", "+00:00")).astimezone(zone)


def _judged(known: list[dict[str, Any]], period: list[dict[str, Any]]) -> int:
    """How many days of the period had enough complete days before them for a norm (else: no findings
    could be made, which is not the same as "nothing unusual")."""
    complete = sorted(d["date"] for d in known if not d.get("partial"))
    return sum(1 for d in period if not d.get("partial")
               and sum(1 for c in complete if c < d["date"]) >= MIN_DAYS)
