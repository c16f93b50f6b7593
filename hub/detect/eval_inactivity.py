"""`hub eval inactivity FILE`: replay a home's activity log through the inactivity detector.

The detector starts empty and learns as it goes, like a freshly installed hub. Nobody in these logs
was in danger, so every alarm on the untouched log is false. Then incapacitations are injected at
seeded random moments right after a non-exit-door event (the resident is at home; everything in the
following 24 h is removed) and the delay to `alarm.inactivity` is measured. Nobody answers the check
prompt in the replay; in a home a press (or any activity) would cancel it.

Log format (../shared/data/README.md): `YYYY-MM-DD HH:MM:SS<TAB>SENSOR<TAB>ON|OFF`, sorted, SENSOR is
`<KIND>-<place>-<name>`, kind `X` the exit door. Each line is one activity with source `SENSOR:STATE`
(a seat mat going ON predicts a long gap, going OFF a short one). Times are the home's local time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.detect.inactivity import InactivityDetector
from hub.detect.inactivity_params import Params

DAY_START_H, DAY_END_H = 7, 22  # report split: injections from 07:00 to 22:00 count as day
HORIZON = timedelta(hours=24)  # events removed after an injection; later alarms count as missed
DEFAULT_INJECTIONS = 1000


@dataclass(frozen=True)
class LogEvent:
    ts: datetime
    sensor: str
    state: str

    @property
    def exit_door(self) -> bool:
        return self.sensor.startswith("X-")

    @property
    def source(self) -> str:
        return f"{self.sensor}:{self.state}"


class LogError(ValueError):
    pass


def parse_log(lines: Any, where: str = "<log>") -> list[LogEvent]:
    """Lines of the event log -> events; a bad line raises LogError naming file and line."""
    events: list[LogEvent] = []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2] not in ("ON", "OFF") or not parts[1]:
            raise LogError(f"{where}:{n}: expected 'YYYY-MM-DD HH:MM:SS<TAB>SENSOR<TAB>ON|OFF', got {line!r}")
        try:
            ts = datetime.strptime(parts[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise LogError(f"{where}:{n}: bad time {parts[0]!r}") from None
        if events and ts < events[-1].ts:
            raise LogError(f"{where}:{n}: time {parts[0]} goes backwards; the log must be sorted")
        events.append(LogEvent(ts, parts[1], parts[2]))
    return events


def load_log(path: Path) -> list[LogEvent]:
    with path.open(encoding="utf-8") as fh:
        return parse_log(fh, str(path))


def evaluate(events: list[LogEvent], params: Params | None = None, seed: int = 0,
             injections: int = DEFAULT_INJECTIONS) -> dict[str, Any]:
    """One pass over the log: counts false alarms and, at each chosen event, the alarm delay after it."""
    if len(events) < 2:
        raise LogError("the log needs at least two events")
    params = params or Params()
    # Log times are the home's wall clock, stamped as UTC: the detector reads time of day in UTC.
    det = InactivityDetector(params, tz=UTC)
    eligible = [i for i, e in enumerate(events) if not e.exit_door]
    chosen = set(random.Random(seed).sample(eligible, min(injections, len(eligible))))
    false_alarms: list[dict[str, Any]] = []
    checks = 0
    day: list[float] = []
    night: list[float] = []
    missed: list[str] = []
    for i, ev in enumerate(events):
        for d in det.note(ev.ts, ev.source, ev.exit_door):
            if d.kind == "check":
                checks += 1
            elif d.kind == "alarm":
                false_alarms.append({"at": d.at.strftime("%Y-%m-%d %H:%M"), "gap_min": round(d.gap_s / 60),
                                     "after": d.last_source, "reason": d.reason, "basis": d.basis})
        if i in chosen:
            alarm_at = det.next_alarm_at()
            if alarm_at is None or alarm_at - ev.ts > HORIZON:
                missed.append(f"{ev.ts:%Y-%m-%d %H:%M} after {ev.source}")
                continue
            delay = (alarm_at - ev.ts).total_seconds() / 60
            (day if DAY_START_H <= ev.ts.hour < DAY_END_H else night).append(delay)
    days = (events[-1].ts - events[0].ts).total_seconds() / 86400
    delays = day + night
    return {
        "days": round(days, 2),
        "false_alarms": len(false_alarms),
        "false_alarms_per_30d": round(len(false_alarms) * 30 / days, 3) if days else None,
        "false_checks_per_30d": round(checks * 30 / days, 3) if days else None,
        "injections": len(chosen),
        "detected": len(delays),
        "detected_within_12h": sum(1 for d in delays if d <= 720),
        "injections_day": len(day) + sum(1 for m in missed if _is_day(m)),
        "median_delay_min_day": _q(day, 0.5),
        "p90_delay_min_day": _q(day, 0.9),
        "median_delay_min_night": _q(night, 0.5),
        "p90_delay_min_night": _q(night, 0.9),
        "max_delay_min": round(max(delays), 1) if delays else None,
        "seed": seed,
        "false_alarm_list": false_alarms,
        "missed": missed,
    }


def _is_day(text: str) -> bool:
    return DAY_START_H <= int(text[11:13]) < DAY_END_H


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    if q == 0.5:
        return round(statistics.median(values), 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 1)


def format_report(name: str, r: dict[str, Any]) -> str:
    lines = [
        f"inactivity replay of {name}: {r['days']} days, learning from an empty history",
        f"  untouched log: {r['false_alarms']} false alarms ({r['false_alarms_per_30d']} per 30 days), "
        f"{r['false_checks_per_30d']} check prompts per 30 days",
    ]
    lines += [f"    false alarm {fa['at']} after {fa['after']} ({fa['gap_min']} min, {fa['reason']}, "
              f"{fa['basis']})" for fa in r["false_alarm_list"]]
    lines += [
        f"  injected incapacitations: {r['injections']} (seed {r['seed']}), detected {r['detected']}, "
        f"within 12 h {r['detected_within_12h']}",
        f"  delay to alarm, day 07-22:  median {r['median_delay_min_day']} min, "
        f"p90 {r['p90_delay_min_day']} min",
        f"  delay to alarm, night:      median {r['median_delay_min_night']} min, "
        f"p90 {r['p90_delay_min_night']} min; longest {r['max_delay_min']} min",
    ]
    lines += [f"    missed: {m}" for m in r["missed"][:10]]
    return "\n".join(lines)


def register(sub: Any) -> argparse.ArgumentParser:
    """Register `inactivity` under `hub eval`."""
    p = sub.add_parser("inactivity", help="replay an activity log through the inactivity detector",
                       description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("file", metavar="FILE", type=Path, help="event log (time<TAB>sensor<TAB>ON|OFF)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=0, help="seed of the injection moments (default 0)")
    p.add_argument("--injections", type=int, default=DEFAULT_INJECTIONS,
                   help=f"how many incapacitations to inject (default {DEFAULT_INJECTIONS})")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        events = load_log(args.file)
        result = evaluate(events, seed=args.seed, injections=max(0, args.injections))
    except (OSError, LogError) as exc:
        print(f"hub eval inactivity: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_report(str(args.file), result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub eval")
    register(parser.add_subparsers(dest="what", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
