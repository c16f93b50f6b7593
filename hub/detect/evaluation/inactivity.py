"""`hub eval inactivity FILE`: replay a home's activity log through the inactivity detector.

The detector starts empty and learns as it goes, like a freshly installed hub. Nobody in these logs
was in danger, so every alarm on the untouched log is false. Then incapacitations are injected at
seeded random *times* (uniform over the log while the resident is at home, not at random sensor
events, which would over-weight chattering sensors; everything in the following 24 h is removed) and
the delay to `alarm.inactivity` is measured, by time of day. Both with every input of the log and
without door contacts and mats, as a hub with PIR alone sees the home. On the untouched log the well
resident answers a check with a press 30 s later with probability `--answer-rate` (0.9, seeded), one
who missed it answers the second question (`recheck_after_s`) with probability `--repeat-answer-rate`
(0.5: the misses are correlated, asleep or out of the room); unanswered, it is an alarm. Nobody
answers after an injected incapacitation. "At home": the detector's own presence model
(hub/detect/presence.py); draws in absences are skipped and counted.
Beside each delay: the oracle floor, the wait to the resident's next real activity in the untouched
log, which any detector that never asks a well resident (a sleeper, someone resting) waits at least.

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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.detect.evaluation.activity_log import LogError, LogEvent, load_absences, load_log
from hub.detect.evaluation.activity_log import parse_log as parse_log  # re-exported for tests
from hub.detect.evaluation.activity_log import without_doors_and_mats as without_doors_and_mats  # re-exported
from hub.detect.evaluation.inactivity_report import format_report
from hub.detect.inactivity.detector import Decision, InactivityDetector
from hub.detect.inactivity.feedback import FeedbackBook
from hub.detect.inactivity.params import Params
from hub.detect.presence import Presence, absences

PERIODS = ("00-06", "06-12", "12-18", "18-24")  # delays reported by the time of day they began
DAY_PERIODS = ("06-12", "12-18")
HORIZON = timedelta(hours=24)  # events removed after an injection; later alarms count as missed
DEFAULT_INJECTIONS = 1000
ANSWER_RATE = 0.9  # a well resident at home answers this share of checks (seeded); the rest alarm
REPEAT_ANSWER_RATE = 0.5  # ... and this share of the second, louder question after missing the first
ANSWER_S = 30.0  # ...with a press this long after the question


def out_intervals(events: list[LogEvent], params: Params | None = None) -> list[tuple[datetime, datetime]]:
    """When the resident was out, from the full log, by the detector's own presence model
    (`hub/detect/presence.py`: an exit-door pattern, then no evidence inside; one stray event in a
    long absence does not end it). No injection there."""
    p = params or Params()
    model = Presence(p.exit_group_s, p.exit_settle_s, p.return_window_min * 60, p.return_apart_s)
    return absences(((e.ts, e.source, e.exit_door) for e in events), model)


def injection_times(events: list[LogEvent], n: int, seed: int, truth: list[LogEvent] | None = None,
                    params: Params | None = None, skipped: list[datetime] | None = None,
                    labelled: Sequence[tuple[datetime, datetime]] = ()) -> list[datetime]:
    """`n` moments drawn uniformly over the log's span while the resident is at home (out: from
    `truth`, the full log, when `events` is a reduced view). Draws that fell in an absence are
    appended to `skipped`."""
    rng = random.Random(seed)
    first, last = events[0].ts, events[-1].ts
    outs = out_intervals(truth or events, params) + list(labelled)
    span = (last - first).total_seconds()
    times: list[datetime] = []
    tries = 0
    while len(times) < n and tries < 100 * n + 100:
        tries += 1
        t = first + timedelta(seconds=round(rng.uniform(0, span)))
        if not any(a < t < b for a, b in outs):
            times.append(t)
        elif skipped is not None:
            skipped.append(t)
    return sorted(times)


def evaluate(events: list[LogEvent], params: Params | None = None, seed: int = 0,
             injections: int = DEFAULT_INJECTIONS, truth: list[LogEvent] | None = None,
             answer_rate: float = ANSWER_RATE, scale: float = 1.0,
             labelled: list[tuple[datetime, datetime]] | None = None,
             repeat_rate: float = REPEAT_ANSWER_RATE) -> dict[str, Any]:
    """One pass over the log: false alarms on the untouched log and, at each injected moment, the delay
    to the alarm if nothing happened from then on. `truth`: the full log (for when the resident was out)
    when `events` is a reduced view of it."""
    if len(events) < 2:
        raise LogError("the log needs at least two events")
    params = params or Params()
    # Log times are the home's wall clock, stamped as UTC: the detector reads time of day in UTC.
    det = InactivityDetector(params, tz=UTC)
    det.scale = scale  # the operator's feedback on this home (hub/detect/inactivity/feedback.py)
    absent: list[datetime] = []
    times = injection_times(events, injections, seed, truth, params, absent, labelled or [])
    false_alarms: list[dict[str, Any]] = []
    outs = out_intervals(truth or events, params) + list(labelled or [])
    checks, rechecks, out_hits = 0, 0, list[int]()  # out_hits: the absence (index in outs) each check while out fell in
    by_period: dict[str, list[float]] = {p: [] for p in PERIODS}
    # The oracle floor: from each injection to the resident's next real activity in this view of the
    # log. A detector that never asks a well resident (a sleeper, someone resting) waits at least this.
    floor: dict[str, list[float]] = {p: [] for p in PERIODS}
    excess: dict[str, list[float]] = {p: [] for p in PERIODS}  # each detection's delay beyond its floor
    missed: list[str] = []

    def count(decisions: list[Decision]) -> None:
        nonlocal checks, rechecks
        for d in decisions:
            rechecks += d.kind == "recheck"
            if d.kind == "check":
                checks += 1
                out_hits.extend(i for i, (a, b) in enumerate(outs) if a < d.at < b)
            elif d.kind == "alarm":
                false_alarms.append({"at": d.at.strftime("%Y-%m-%d %H:%M"), "gap_min": round(d.gap_s / 60),
                                     "after": d.last_source, "reason": d.reason, "basis": d.basis})

    answers = random.Random(f"answer-{seed}")
    repeats = random.Random(f"repeat-{seed}")  # its own stream: the first answers are drawn as without it
    repeat_rate = repeat_rate if answer_rate > 0 else 0.0  # answer rate 0: nobody answers anything

    def advance(until: datetime) -> None:
        """Questions falling due before `until` on the untouched log: the well resident answers the
        check (a press) with probability `answer_rate`, the second question if the first was missed with
        `repeat_rate`; unanswered, the alarm follows after the wait."""
        for _ in range(100):
            at = det.next_check_at()
            if at is None or at >= until:
                return
            decisions = det.tick(at)
            count(decisions)
            asked = [d for d in decisions if d.kind in ("check", "recheck")]
            if asked:
                first = asked[-1].kind == "check"
                if (answers if first else repeats).random() >= (answer_rate if first else repeat_rate):
                    continue  # missed: the second question (next_check_at), else the alarm
                press = asked[-1].at + timedelta(seconds=ANSWER_S)
                if press >= until:
                    return  # the next activity comes first and answers
                count(det.note(press, "button:answer"))

    k, paused = 0, 0
    for ev in events:
        while k < len(times) and times[k] < ev.ts:
            t = times[k]
            k += 1
            floor[_period(t)].append((ev.ts - t).total_seconds() / 60)
            advance(t)
            count(det.tick(t))
            alarm_at = det.next_alarm_at()
            if alarm_at is None and det.alarmed:
                alarm_at = t  # this gap's alarm is already out: help is on its way
            if alarm_at is None or alarm_at - t > HORIZON:
                missed.append(f"{t:%Y-%m-%d %H:%M} after {det.last_source}"
                              + (" (presumed out)" if det.out else ""))
                continue
            by_period[_period(t)].append((alarm_at - t).total_seconds() / 60)
            excess[_period(t)].append((alarm_at - ev.ts).total_seconds() / 60)
        advance(ev.ts)
        count(det.note(ev.ts, ev.source, ev.exit_door))
        paused += det.routine.pace.over(ev.ts, det.routine.days_learned(ev.ts))  # the ceiling on questions
    days = (events[-1].ts - events[0].ts).total_seconds() / 86400
    delays = [d for v in by_period.values() for d in v]
    day = [d for p, v in by_period.items() if p in DAY_PERIODS for d in v]
    night = [d for p, v in by_period.items() if p not in DAY_PERIODS for d in v]
    floor_day = [d for p, v in floor.items() if p in DAY_PERIODS for d in v]
    floor_night = [d for p, v in floor.items() if p not in DAY_PERIODS for d in v]
    excess_day = [d for p, v in excess.items() if p in DAY_PERIODS for d in v]
    excess_night = [d for p, v in excess.items() if p not in DAY_PERIODS for d in v]
    return {
        "days": round(days, 2),
        "false_alarms": len(false_alarms),
        "false_alarms_per_30d": round(len(false_alarms) * 30 / days, 3) if days else None,
        "false_checks_per_30d": round(checks * 30 / days, 3) if days else None,
        "false_rechecks_per_30d": round(rechecks * 30 / days, 3) if days else None,
        "checks_while_out_per_30d": round(len(out_hits) * 30 / days, 3) if days else None,
        "absences_checked_per_30d": round(len(set(out_hits)) * 30 / days, 3) if days else None,
        "injections": k,
        "skipped_absent": len(absent),
        "absences": len(outs),
        "detected": len(delays),
        "detected_within_12h": sum(1 for d in delays if d <= 720),
        "median_delay_min_day": _q(day, 0.5),
        "p90_delay_min_day": _q(day, 0.9),
        "median_delay_min_night": _q(night, 0.5),
        "p90_delay_min_night": _q(night, 0.9),
        "oracle_median_min_day": _q(floor_day, 0.5),
        "oracle_median_min_night": _q(floor_night, 0.5),
        "excess_median_min_day": _q(excess_day, 0.5),
        "excess_median_min_night": _q(excess_night, 0.5),
        "delay_by_time_of_day": {p: {"n": len(v), "median_min": _q(v, 0.5), "p90_min": _q(v, 0.9),
                                     "oracle_median_min": _q(floor[p], 0.5)} for p, v in by_period.items()},
        "max_delay_min": round(max(delays), 1) if delays else None,
        "mat_flickers": det.flickers,
        "early_paused_pct": round(100 * paused / len(events), 1),  # gaps begun with early checks paused
        "answer_rate": answer_rate,
        "repeat_answer_rate": repeat_rate,
        "seed": seed,
        "false_alarm_list": false_alarms,
        "missed": missed,
    }


def evaluate_home(events: list[LogEvent], params: Params | None = None, seed: int = 0,
                  injections: int = DEFAULT_INJECTIONS, answer_rate: float = ANSWER_RATE,
                  scale: float = 1.0, labelled: list[tuple[datetime, datetime]] | None = None,
                  repeat_rate: float = REPEAT_ANSWER_RATE) -> dict[str, Any]:
    """The figures with every input of the log, and without door contacts and mats (as a PIR-only hub)."""
    kw: dict[str, Any] = {"answer_rate": answer_rate, "scale": scale, "labelled": labelled, "repeat_rate": repeat_rate}
    result = {"all_inputs": evaluate(events, params, seed, injections, **kw)}
    reduced = without_doors_and_mats(events)
    if len(reduced) >= 2 and len(reduced) < len(events):
        result["without_doors_mats"] = evaluate(reduced, params, seed, injections, truth=events, **kw)
    return result


def _period(t: datetime) -> str:
    return PERIODS[t.hour // 6]


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    if q == 0.5:
        return round(statistics.median(values), 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 1)


def register(sub: Any) -> argparse.ArgumentParser:
    """Register `inactivity` under `hub eval`."""
    p = sub.add_parser("inactivity", help="replay an activity log through the inactivity detector",
                       description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("file", metavar="FILE", type=Path, help="event log (time<TAB>sensor<TAB>ON|OFF)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=0, help="seed of the injection moments (default 0)")
    p.add_argument("--injections", type=int, default=DEFAULT_INJECTIONS,
                   help=f"how many incapacitations to inject (default {DEFAULT_INJECTIONS})")
    p.add_argument("--answer-rate", type=float, default=ANSWER_RATE,
                   help=f"share of checks a well resident answers, 0-1 (default {ANSWER_RATE}; 0: nobody "
                   "answers either question)")
    p.add_argument("--repeat-answer-rate", type=float, default=REPEAT_ANSWER_RATE,
                   help=f"share of second questions answered after a missed first, 0-1 (default {REPEAT_ANSWER_RATE})")
    p.add_argument("--absences", type=Path, metavar="FILE",
                   help="labelled absences (START<TAB>END per line), added to the presence model's")
    p.add_argument("--feedback", type=Path, metavar="JSON",
                   help="replay with a hub's operator feedback (state_dir/inactivity_feedback.json)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        events = load_log(args.file)
        book = FeedbackBook("eval")
        if args.feedback is not None:
            book.load(json.loads(args.feedback.read_text(encoding="utf-8")))
            print(f"operator feedback from {args.feedback}: {len(book.entries)} verdicts, limits x{book.scale}",
                  file=sys.stderr)
        result = evaluate_home(events, seed=args.seed, injections=max(0, args.injections),
                               answer_rate=min(1.0, max(0.0, args.answer_rate)), scale=book.scale,
                               labelled=load_absences(args.absences) if args.absences else None,
                               repeat_rate=min(1.0, max(0.0, args.repeat_answer_rate)))
    except (OSError, LogError, ValueError) as exc:
        print(f"hub eval inactivity: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_report(str(args.file), result["all_inputs"]))
        if "without_doors_mats" in result:
            print(format_report(str(args.file), result["without_doors_mats"], "without door contacts and mats"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub eval")
    register(parser.add_subparsers(dest="what", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
