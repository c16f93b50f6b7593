"""The inactivity detector's parameters: every limit, window and margin of the rule in
`hub/detect/inactivity/detector.py`, with defaults, built from the validated `[inactivity]` config table
(`hub/detect/schema.py`; times of day as HH:MM there, minutes after midnight here), and the night
window test that both the learned routine and the fallback limits use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def hhmm_to_min(text: str) -> int:
    """'22:30' -> 1350; raises ValueError naming the bad value."""
    try:
        h, m = text.split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM") from None
    if not (0 <= int(h) < 24 and 0 <= int(m) < 60):
        raise ValueError(f"time {text!r} is not HH:MM between 00:00 and 23:59")
    return value


@dataclass(frozen=True)
class Params:
    check_wait_s: float = 600.0
    recheck_after_s: float = 300.0  # the second, louder question, this long after the first; 0: none
    day_min_min: float = 60.0
    day_max_h: float = 10.0
    night_min_h: float = 2.0
    night_max_h: float = 11.5
    night_start_min: int = 22 * 60
    night_end_min: int = 7 * 60
    evening_h: float = 2.0
    fallback_day_h: float = 6.0
    learn_min_days: float = 2.0
    learn_days: int = 28
    window_h: float = 2.0
    min_samples: int = 30
    risk: float = 0.01
    prior_weight: float = 1.0
    margin: float = 1.5
    margin_min: float = 30.0
    morning_anchor_min: int = 4 * 60
    morning_margin_min: float = 0.0  # was 30: see docs/detection.md "Morning check"
    morning_min_days: int = 5
    exit_group_s: float = 120.0
    exit_settle_s: float = 5.0
    return_window_min: float = 30.0
    return_apart_s: float = 30.0
    mat_hold_s: float = 90.0
    settle_days: float = 14.0
    out_limit_h: float = 0.0
    away_autoclear: bool = True
    away_grace_min: float = 10.0
    early_checks_per_day: float = 0.5  # the early check (`Routine.early_limit`); 0: ask only at the limit
    early_margin: float = 1.0
    early_margin_min: float = 15.0
    early_day_min_min: float = 60.0
    early_night_min_h: float = 3.0
    checks_per_day_max: float = 0.5  # early checks pause while the recent checks reach this rate
    check_window_days: float = 28.0  # ... over this many days (pacing.py)
    visitors: bool = True  # a second person pauses checks and alarms (hub/detect/visitors.py)
    visitor_rooms_s: float = 5.0
    visitor_hold_min: float = 60.0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Params:
        """From the validated [inactivity] config table (hub/detect/schema.py)."""
        plain = {k: section[k] for k in cls.__dataclass_fields__ if k in section}
        for key in ("night_start", "night_end", "morning_anchor"):
            if key in section:
                try:
                    plain[f"{key}_min"] = hhmm_to_min(section[key])
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return cls(**plain)

    def in_night(self, tod: float) -> bool:
        start, end = self.night_start_min, self.night_end_min
        return (start <= tod or tod < end) if start > end else (start <= tod < end)
