"""This home's own norm, and the days that leave it: plain findings for the family and the duty desk.

The norm of a figure is its spread over the last `norm_days` (14) complete days: the middle half (25th to
75th percentile) is "usual". A day is a finding only when it is far outside that — for counts, more than
the usual top plus the larger of 2 and the top itself (night toilet 5, usually 1-2), or none of something
usually done 3 times or more; for the time she got up, an hour outside; for time out, two hours more
than the usual top. Seven complete days are needed before anything is judged: a new unit has no norm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIN_DAYS = 7


@dataclass(frozen=True)
class Figure:
    key: str
    zh: str  # "{v}" the day's value, "{usual}" the usual range
    en: str
    kind: str  # "count" | "clock" | "minutes"


FIGURES = (
    Figure("night_bathroom", "夜间如厕 {v} 次，平时 {usual} 次", "Night toilet visits: {v}, usually {usual}", "count"),
    Figure("night_up", "夜间起床 {v} 次，平时 {usual} 次", "Got up at night {v} times, usually {usual}", "count"),
    Figure("bathroom_visits", "全天如厕 {v} 次，平时 {usual} 次", "Toilet visits: {v}, usually {usual}", "count"),
    Figure("kitchen", "厨房活动 {v} 次，平时 {usual} 次", "Kitchen activity: {v} times, usually {usual}", "count"),
    Figure("activity", "全天活动 {v} 次，平时 {usual} 次", "Signs of activity: {v}, usually {usual}", "count"),
    Figure("first_activity", "起床时间 {v}，平时 {usual}", "Up at {v}, usually {usual}", "clock"),
    Figure("out_min", "外出 {v}，平时 {usual}", "Out of home {v}, usually {usual}", "minutes"),
)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def findings(day: dict[str, Any], history: Sequence[dict[str, Any]], norm_days: int = 14) -> list[dict[str, Any]]:
    """The day's findings against the complete days before it (oldest first in `history`)."""
    date = day.get("date", "")
    past = [h for h in history if not h.get("partial") and h.get("date", "") < date][-norm_days:]
    if len(past) < MIN_DAYS or day.get("partial"):
        return []
    found = []
    for fig in FIGURES:
        values = [v for v in (_value(h, fig) for h in past) if v is not None]
        value = _value(day, fig)
        if value is None or len(values) < MIN_DAYS:
            continue
        lo, hi = percentile(values, 25), percentile(values, 75)
        direction = _outside(fig.kind, value, lo, hi)
        if direction:
            usual = [_show(fig, lo, "en"), _show(fig, hi, "en")]
            found.append({"figure": fig.key, "value": day[fig.key], "usual": usual,
                          "direction": direction,
                          "zh": fig.zh.format(v=_show(fig, value, "zh"), usual=_usual(fig, lo, hi, "zh")),
                          "en": fig.en.format(v=_show(fig, value, "en"), usual=_usual(fig, lo, hi, "en"))})
    return found


def _value(day: dict[str, Any], fig: Figure) -> float | None:
    raw = day.get(fig.key)
    if raw is None:
        return None
    if fig.kind == "clock":
        h, _, m = str(raw).partition(":")
        minutes = int(h) * 60 + int(m)
        return minutes + 1440 if minutes < 6 * 60 else minutes  # a day starts at 06:00: 00:30 is late
    return float(raw)


def _outside(kind: str, value: float, lo: float, hi: float) -> str:
    if kind == "count":
        if value > hi + max(2.0, hi):
            return "more"
        if value == 0 and lo >= 3:
            return "less"
    elif kind == "clock":
        if value > hi + 60:
            return "later"
        if value < lo - 60:
            return "earlier"
    elif value > hi + 120:
        return "more"
    return ""


def _show(fig: Figure, value: float, lang: str) -> Any:
    if fig.kind == "clock":
        minutes = int(value) % 1440
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if fig.kind == "minutes":
        if value >= 60:
            return f"{value / 60:.1f} 小时" if lang == "zh" else f"{value / 60:.1f} h"
        return f"{int(value)} 分钟" if lang == "zh" else f"{int(value)} min"
    return int(value)


def _usual(fig: Figure, lo: float, hi: float, lang: str) -> str:
    a, b = _show(fig, lo, lang), _show(fig, hi, lang)
    if a == b:
        return str(a)
    return f"{a}–{b}" if lang == "zh" else f"{a}-{b}"
