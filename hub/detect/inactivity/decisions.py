"""What the inactivity detector decides, as the component and the evaluator see it: a `Decision` (a
check fell due, an alarm, an answer, ...), the running gap's `Plan`, and the `alarm.inactivity` payload
(docs/schemas/alarm.inactivity.json) built from an alarm decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hub.detect.inactivity.routine import Basis

DecisionKind = Literal["check", "recheck", "alarm", "answered", "away_cleared", "visitor_arrived",
                       "visitor_left"]
Reason = Literal["gap", "morning", "bedtime", "out", "dwell", "not_up_by", "out_at_night"]


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    at: datetime  # when it fell due (nominal), not when tick() noticed
    last_activity: datetime | None = None
    last_source: str = ""
    gap_s: float = 0.0  # since the last activity, at `at`
    limit_s: float = 0.0  # the gap after which the check fell due
    normal_s: float | None = None  # learned longest normal gap here (None: fallback)
    reason: Reason = "gap"
    basis: Basis = "fallback"
    check_at: datetime | None = None  # for "recheck"/"alarm"/"answered": when the resident was first asked


@dataclass(frozen=True)
class Plan:
    check_at: datetime
    limit_s: float
    normal_s: float | None
    reason: Reason
    basis: Basis


def alarm_data(d: Decision, check_wait_s: float) -> dict[str, Any]:
    """The alarm.inactivity payload (docs/schemas/alarm.inactivity.json)."""
    assert d.last_activity is not None and d.check_at is not None
    return {
        "gap_min": round(d.gap_s / 60, 1),
        "limit_min": round(d.limit_s / 60, 1),
        "expected_max_min": round(d.normal_s / 60, 1) if d.normal_s is not None else None,
        "basis": d.basis,
        "reason": d.reason,
        "last_activity": d.last_activity.isoformat(timespec="milliseconds"),
        "last_source": d.last_source,
        "checked_at": d.check_at.isoformat(timespec="milliseconds"),
        "check_wait_s": check_wait_s,
    }
