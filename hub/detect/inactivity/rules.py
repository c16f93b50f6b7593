"""Rules a community sets for one home (`[[inactivity_rules]]`, docs/detection.md "Community rules"),
on top of the learned limits; each falls due as a check ("您还好吗？") and an alarm if unanswered:

- `dwell`: the last activity was in `place` (a sensor named `<KIND>-<place>-<name>` or
  `<KIND>-<kind>-<place>`, e.g. `M-Bathroom-Basin`, `D-door-bathroom`) and nothing has happened for
  `day_max_min` (a gap starting by day) or `night_max_min` (in the night window): bathroom > 40 min
  at night, > 4 h by day.
- `not_up_by`: at home overnight and no activity since the morning anchor by `at` (e.g. "09:00").
- `out_at_night`: presumed out (exit door, then no evidence inside) when `at` comes (e.g. "23:00"),
  or leaving after `at` in the night window and not back within an hour.
Pure: the detector asks `due()` when a gap starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from hub.detect.inactivity.anchored import minute_of_day
from hub.detect.inactivity.params import Params, hhmm_to_min

RuleKind = Literal["dwell", "not_up_by", "out_at_night"]
OUT_AFTER_S = 3600.0  # leaving after `at` at night: asked if not back within this


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    place: str = ""
    day_max_s: float = 4 * 3600.0
    night_max_s: float = 40 * 60.0
    at_min: int = 9 * 60


def rules_from_config(items: list[dict[str, Any]]) -> tuple[Rule, ...]:
    """From the validated `[[inactivity_rules]]` tables (hub/detect/schema.py)."""
    return tuple(Rule(item["kind"], item["place"].lower(), item["day_max_min"] * 60, item["night_max_min"] * 60,
                      hhmm_to_min(item["at"])) for item in items)


def places(source: str) -> set[str]:
    """'M-Bathroom-Basin:ON' -> {'bathroom', 'basin'}: the words of a sensor's name that can be a room."""
    name = source.rpartition(":")[0]
    parts = name.split("-")
    return {p.lower() for p in parts[1:]} if len(parts) >= 3 and len(parts[0]) == 1 else set()


def due(rules: tuple[Rule, ...], p: Params, tz: tzinfo, last_ts: datetime, source: str,
        out: bool) -> tuple[datetime, RuleKind] | None:
    """The earliest rule that falls due in the gap starting at `last_ts` after `source`, if any."""
    found: list[tuple[datetime, RuleKind]] = []
    local = last_ts.astimezone(tz)
    tod = minute_of_day(last_ts, tz)
    for r in rules:
        if r.kind == "dwell" and not out and r.place in places(source):
            found.append((last_ts + timedelta(seconds=r.night_max_s if p.in_night(tod) else r.day_max_s), r.kind))
        elif r.kind == "not_up_by" and not out:
            at = _next(local, r.at_min)
            anchor = at.replace(hour=p.morning_anchor_min // 60, minute=p.morning_anchor_min % 60)
            if anchor > at:
                anchor -= timedelta(days=1)
            found.append((at if local < anchor else _next(at + timedelta(minutes=1), r.at_min), r.kind))
        elif r.kind == "out_at_night" and out:
            late = p.in_night(tod) and (tod - r.at_min) % 1440 < (p.night_end_min - r.at_min) % 1440
            found.append((last_ts + timedelta(seconds=OUT_AFTER_S) if late else _next(local, r.at_min), r.kind))
    return min(found) if found else None


def _next(local: datetime, at_min: int) -> datetime:
    """The first time of day `at_min` (minute of the day) at or after `local` (same zone)."""
    at = local.replace(hour=at_min // 60, minute=at_min % 60, second=0, microsecond=0)
    return at if at >= local else at + timedelta(days=1)
