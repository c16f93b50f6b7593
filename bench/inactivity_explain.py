"""Why the inactivity detector checks a well resident and why injected incapacitations wait:
`hub eval inactivity`'s replay, instrumented (no broker, no hub; in-process).

    python bench/inactivity_explain.py [HOME.events ...] [--seed N] [--injections N]

For each home and view (every input / without door contacts and mats):
- every check on the untouched log: time of day, what set it (`gap` early or full limit, morning,
  bedtime), the source before it, and what the resident was doing by the *full* log (out by the
  presence model, on the bed or seat mat, otherwise "up");
- the injections grouped by what set their alarm time (early floor, early learned, full limit,
  morning, bedtime ...), by time of day: count, median delay and median oracle floor;
- what bounds the day and night medians: the median if every injection were found at its oracle floor
  plus the 10 min wait for an answer, and if only those of a sleeping resident kept their delay (asleep:
  on a bed mat by the full log; in a home without one, the morning check or a gap begun at night set the
  alarm). The second is the best a detector that never wakes a sleeper can do without better knowing
  when each sleep ends; if it is above a target, no rule outside sleep reaches that target.
Figures only: the classes are read from the detector's own plan at each moment.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from bisect import bisect_right
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.detect.evaluation import inactivity as ev
from hub.detect.evaluation.activity_log import LogEvent, load_log, without_doors_and_mats
from hub.detect.inactivity.decisions import Decision
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.routine import DAY, source_kind

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "activity"


def limit_class(det: InactivityDetector) -> str:
    """What set the running gap's check time: the plan's reason, and for `gap` which bound."""
    plan = det.plan
    if plan is None:
        return "none (out/away/visitor)"
    if plan.reason != "gap":
        return plan.reason
    assert det.last_ts is not None
    r, p = det.routine, det.p
    limit, _, basis = r.expectation(det._context, det.last_ts)
    if basis == "fallback":
        return "gap: fallback"
    if abs(plan.limit_s - limit) < 1:
        return "gap: full limit"
    tod = r._tod(det.last_ts)
    evening = (p.night_start_min - tod) % DAY < p.evening_h * 60 and source_kind(det._context) != "onset"
    lo = p.early_night_min_h * 3600 if p.in_night(tod) or evening else p.early_day_min_min * 60
    where = "night" if p.in_night(tod) else "evening" if evening else "day"
    return f"gap: early floor ({where})" if abs(plan.limit_s - lo) < 1 else f"gap: early learned ({where})"


class Doing:
    """What the resident was doing at a moment, by the full log: out, on a mat, or up."""

    def __init__(self, truth: list[LogEvent]) -> None:
        self.outs = ev.out_intervals(truth)
        self.mats: list[tuple[datetime, datetime, str]] = []
        on: dict[str, datetime] = {}
        for e in truth:
            if e.sensor.startswith("P-"):
                if e.source.endswith(":ON"):
                    on[e.sensor] = e.ts
                elif e.sensor in on:
                    self.mats.append((on.pop(e.sensor), e.ts, e.sensor))

    def at(self, t: datetime) -> str:
        if any(a <= t < b for a, b in self.outs):
            return "out"
        for a, b, s in self.mats:
            if a <= t < b:
                return "on " + s
        return "up"


def explain(events: list[LogEvent], truth: list[LogEvent], seed: int, injections: int) -> dict[str, Any]:
    """Replay as `hub eval inactivity` does, recording each check's class and each injection's."""
    checks: list[tuple[datetime, str, str]] = []
    waits: list[tuple[datetime, str, float, float]] = []  # (injected at, class, delay min, floor min)
    made: list[InactivityDetector] = []
    stamps = [e.ts for e in events]

    class Recording(InactivityDetector):
        now: datetime | None = None

        def tick(self, now: datetime) -> list[Decision]:
            self.now = now
            return super().tick(now)

        def _decision(self, kind: Any, at: datetime) -> Decision:
            if kind == "check" and self is made[0]:
                checks.append((at, limit_class(self), self.last_source))
            return super()._decision(kind, at)

        def next_alarm_at(self) -> datetime | None:
            cls = limit_class(self)
            found = super().next_alarm_at()
            t = self.now
            if self is made[0] and t is not None and found is not None:
                nxt = stamps[min(bisect_right(stamps, t), len(stamps) - 1)]
                waits.append((t, cls, (found - t).total_seconds() / 60, (nxt - t).total_seconds() / 60))
            return found

    def make(*args: Any, **kwargs: Any) -> InactivityDetector:
        det = Recording(*args, **kwargs)
        made.append(det)
        return det

    original = ev.InactivityDetector
    ev.InactivityDetector = make  # type: ignore[assignment,misc]
    try:
        r = ev.evaluate(events, seed=seed, injections=injections, truth=truth)
    finally:
        ev.InactivityDetector = original  # type: ignore[misc]
    return {"result": r, "checks": checks, "waits": waits}


def report(name: str, events: list[LogEvent], truth: list[LogEvent], seed: int, injections: int) -> None:
    data = explain(events, truth, seed, injections)
    r, doing = data["result"], Doing(truth)
    print(f"== {name}: {r['days']} d, checks {r['false_checks_per_30d']}/30 d, alarms {r['false_alarms_per_30d']}/30 d,"
          f" day {r['median_delay_min_day']} night {r['median_delay_min_night']} min")
    by: Counter[tuple[str, str, str]] = Counter()
    for at, cls, src in data["checks"]:
        by[(f"{at.hour:02d}h", cls, f"{src} / {doing.at(at)}")] += 1
    print("  checks on the untouched log (hour, what set it, source before / resident by the full log):")
    for (hour, cls, what), n in sorted(by.items()):
        print(f"    {hour} {n:2d} x {cls:28s} {what}")
    groups: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for t, cls, delay, floor in data["waits"]:
        groups[(ev._period(t), cls)].append((delay, floor))
    print("  injections by what set the alarm time (period, class: n, median delay, median oracle floor):")
    for (period, cls), v in sorted(groups.items()):
        print(f"    {period} {cls:30s} n={len(v):4d} delay {statistics.median(d for d, _ in v):6.0f}"
              f" oracle {statistics.median(f for _, f in v):6.0f}")
    print("  medians if every injection not asleep were found at its oracle floor + the wait:",
          bounds(data["waits"], doing, Params().check_wait_s / 60))


def bounds(waits: list[tuple[datetime, str, float, float]], doing: Doing, wait_min: float) -> str:
    """The day and night medians now, with every injection not asleep at its floor + the wait, and with
    all at floor + wait (`report`)."""
    beds = any("bed" in s.lower() for _, _, s in doing.mats)

    def asleep(t: datetime, cls: str) -> bool:
        if beds:
            return "bed" in doing.at(t).lower()
        return cls == "morning" or cls.endswith("(night)")

    parts = []
    for name, night in (("day", False), ("night", True)):
        rows = [(t, c, d, f) for t, c, d, f in waits if (ev._period(t) not in ev.DAY_PERIODS) == night]
        if not rows:
            continue
        now = statistics.median(d for _, _, d, _ in rows)
        bound = statistics.median(d if asleep(t, c) else f + wait_min for t, c, d, f in rows)
        floor = statistics.median(f + wait_min for _, _, _, f in rows)
        share = sum(asleep(t, c) for t, c, _, _ in rows) / len(rows)
        parts.append(f"{name} {now:.0f} -> {bound:.0f} (asleep {share:.0%} as now) -> {floor:.0f} (all at floor)")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("files", nargs="*", type=Path)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--injections", type=int, default=300)
    args = a.parse_args(argv)
    for path in args.files or sorted(DATA.glob("*.events")):
        events = load_log(path)
        report(f"{path.stem} (all inputs)", events, events, args.seed, args.injections)
        reduced = without_doors_and_mats(events)
        report(f"{path.stem} (without doors and mats)", reduced, events, args.seed, args.injections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
