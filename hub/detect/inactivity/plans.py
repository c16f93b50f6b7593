"""When to ask about a gap that starts now: the earliest of the learned limit (or the early check
before it), the morning check, the bedtime check and a community rule; while presumed out only the
rules and `out_limit_h`. The detector (detector.py) makes a plan each time a gap starts and keeps it
until the next activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from hub.detect.inactivity.bedtime import is_bed
from hub.detect.inactivity.decisions import Plan, Reason
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.routine import Routine
from hub.detect.inactivity.rules import Rule
from hub.detect.inactivity.rules import due as rule_due


def make_plan(routine: Routine, p: Params, tz: tzinfo, rules: tuple[Rule, ...], scale: float,
              ts: datetime, source: str, context: str, out: bool, early: bool = True) -> Plan | None:
    """The plan for a gap starting at `ts` after `source`, learned under `context` (the source, or
    the mat in use); `early` False: the resident just answered a check, the next waits for the full
    limit; `scale`: the operator's feedback on this home's limits (feedback.py)."""
    rule = rule_due(rules, p, tz, ts, source, out) if rules else None
    if out:
        if p.out_limit_h <= 0:
            return None if rule is None else Plan(rule[0], (rule[0] - ts).total_seconds(), None, rule[1],
                                                  "fallback")
        limit = p.out_limit_h * 3600
        plan = Plan(ts + timedelta(seconds=limit), limit, None, "out", "fallback")
        return plan if rule is None or rule[0] >= plan.check_at else \
            Plan(rule[0], (rule[0] - ts).total_seconds(), None, rule[1], "fallback")
    limit, normal, basis = routine.expectation(context, ts)
    if early:
        limit = routine.early_limit(context, ts, limit)
    if scale != 1.0:  # never past the longest limit: every detection stays within it + the wait
        limit = min(limit * scale, max(limit, p.night_max_h * 3600, p.day_max_h * 3600))
    plan = Plan(ts + timedelta(seconds=limit), limit, normal, "gap", basis)
    dues: list[tuple[datetime | None, Reason]] = [  # not up by the usual time; not in bed by it
        (routine.morning_due(ts), "morning"),
        (None if is_bed(context) else routine.bedtimes.due(ts), "bedtime")]
    for due, why in dues:
        if due is not None and due < plan.check_at:
            plan = Plan(due, (due - ts).total_seconds(), normal, why, "learned")
    if rule is not None and rule[0] < plan.check_at:
        plan = Plan(rule[0], (rule[0] - ts).total_seconds(), normal, rule[1], plan.basis)
    return plan
