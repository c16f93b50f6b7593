"""The report and the command line of `hub eval fall` (the evaluation itself: falls.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.detect.evaluation.falls import FALL_TYPES, Outcome, TrialResult, find_trials, summarise
from hub.detect.evaluation.soften import CHAIR_CODES, format_softened, softened_table
from hub.detect.fall.detector import FEATURES, FallParams


def _pct(v: float | None) -> str:
    return "   n/a" if v is None else f"{100 * v:5.1f}%"


def format_report(s: dict[str, Any], root: Path, title: str = "") -> str:
    lines = [f"SisFall fall detection{title}: {s['trials']} trials, {s['subjects']} subjects, {root}",
             "sensitivity: any fall event (alarm or fall.recovered) / alarm; specificity: ADL trials without "
             "an alarm; recovered: ADL trials with a false fall.recovered",
             "group  trials  falls detected alarmed missed   ADLs false-alarms recovered  sens(any) "
             "sens(alarm) specificity"]
    for g, v in s["groups"].items():
        lines.append(f"{g:<6} {v['trials']:6d} {v['falls']:6d} {v['detected']:8d} {v['alarmed']:7d} {v['missed']:6d} "
                     f"{v['adls']:6d} {v['false_alarms']:12d} {v['false_recovered']:9d}     {_pct(v['sensitivity'])}"
                     f"      {_pct(v['sensitivity_alarm'])}      {_pct(v['specificity'])}")
    o = s["outcomes"]
    n_falls, n_adls = o["falls_detected"] + o["falls_missed"], o["adl_false_alarms"] + o["adl_correct"]
    lines.append(f"all    {s['trials']:6d} {n_falls:6d} {o['falls_detected']:8d} {o['falls_alarmed']:7d} "
                 f"{o['falls_missed']:6d} {n_adls:6d} {o['adl_false_alarms']:12d} {o['adl_false_recovered']:9d}"
                 f"     {_pct(s['sensitivity'])}      {_pct(s['sensitivity_alarm'])}      {_pct(s['specificity'])}")
    for g, v in s["groups"].items():
        up = v["got_up"]
        if up["trials"]:
            lines.append(f"falls the wearer got up from ({g}, spliced): {up['events']}/{up['trials']} reported "
                         f"({_pct(up['sensitivity']).strip()}): {up['recovered']} fall.recovered, "
                         f"{up['alarms']} alarms")
    worst = ", ".join(f"{w['code']} {w['false_alarms']}/{w['trials']}" for w in s["worst_adl"]) or "none"
    lines.append(f"worst ADL codes (false alarms/trials): {worst}")
    missed = ", ".join(f"{c} {n}" for c, n in s["missed_fall_codes"].items()) or "none"
    lines.append(f"missed falls by code: {missed}")
    for name, v in s["fall_types"].items():
        lines.append(f"  falls {name}: {v['detected']}/{v['falls']} detected ({_pct(v['sensitivity']).strip()}), "
                     f"{v['alarmed']} alarmed")
    lines.append("per activity (trials: alarms, recovered): " + ", ".join(
        f"{c} {v['trials']}:{v['alarms']},{v['recovered']}" for c, v in s["activities"].items()))
    if s.get("kinds"):
        lines.append("kinds reported: " + ", ".join(f"{k} {n}" for k, n in s["kinds"].items()))
    if s["median_latency_s"] is not None:
        lines.append(f"decision {s['median_latency_s']:.1f} s after the impact (median)")
    if s["realtime_factor"] is not None:
        lines.append(f"speed: {s['realtime_factor']:.0f}x real time on one core "
                     f"({s['signal_s']:.0f} s of signal in {s['detector_cpu_s']:.2f} s)")
    return "\n".join(lines)


def per_subject(results: list[TrialResult], wear: dict[str, Any],
                outcomes: dict[str, Outcome] | None = None) -> dict[str, dict[str, Any]]:
    """Per subject: falls with any event / an alarm, got-up splices reported, ADL trials with a false
    alarm / a false fall.recovered, and false alarms / recovered events per day of their wear stream."""
    def out(r: TrialResult) -> Outcome:
        return r.outcome if outcomes is None else outcomes[r.trial.key]

    table: dict[str, dict[str, Any]] = {}
    for subject in sorted({r.trial.subject for r in results}):
        rs = [r for r in results if r.trial.subject == subject]
        falls = [r for r in rs if r.trial.is_fall and not r.trial.variant]
        up = [r for r in rs if r.trial.variant == "got_up"]
        adls = [r for r in rs if not r.trial.is_fall and not r.trial.variant]
        w = wear.get("subjects_figures", {}).get(subject, {})
        table[subject] = {"falls": len(falls), "any": sum(out(r) is not None for r in falls),
                          "alarm": sum(out(r) == "alarm" for r in falls), "got_up": len(up),
                          "got_up_any": sum(out(r) is not None for r in up), "adls": len(adls),
                          "false_alarms": sum(out(r) == "alarm" for r in adls),
                          "false_recovered": sum(out(r) == "recovered" for r in adls),
                          "wear_alarms_per_day": w.get("per_day"), "wear_recovered_per_day": w.get("recovered_per_day")}
        for name, codes in FALL_TYPES.items():
            rows = [r for r in up if r.trial.code in codes]
            table[subject]["got_up " + name] = [sum(out(r) is not None for r in rows), len(rows)]
    return table


def format_subjects(table: dict[str, dict[str, Any]]) -> str:
    def rate(hits: int, n: int) -> str:
        return "   n/a" if n == 0 else f"{100 * hits / n:5.1f}%"

    lines = ["subject  falls sens(any) sens(alarm)  got-up sens(any)  ADLs specificity false-recovered "
             "alarms/day recovered/day"]
    for s, v in table.items():
        lines.append(f"{s:<7} {v['falls']:6d}    {rate(v['any'], v['falls'])}      {rate(v['alarm'], v['falls'])} "
                     f"{v['got_up']:7d}    {rate(v['got_up_any'], v['got_up'])}  {v['adls']:4d}      "
                     f"{rate(v['adls'] - v['false_alarms'], v['adls'])} {v['false_recovered']:15d} "
                     f"{v['wear_alarms_per_day']!s:>10} {v['wear_recovered_per_day']!s:>13}")

    def lowest(pairs: list[tuple[int, int]]) -> str:
        rates = [hits / n for hits, n in pairs if n]
        return f"{100 * min(rates):.1f}%" if rates else "n/a"

    rows = list(table.values())
    lines.append(f"lowest per subject: any fall event {lowest([(v['any'], v['falls']) for v in rows])}, got-up "
                 f"{lowest([(v['got_up_any'], v['got_up']) for v in rows])}, specificity "
                 f"{lowest([(v['adls'] - v['false_alarms'], v['adls']) for v in rows])}")
    got_up = {name: [sum(v["got_up " + name][0] for v in table.values()),
                     sum(v["got_up " + name][1] for v in table.values())] for name in FALL_TYPES}
    lines += [f"  got-up falls {name}: {h}/{n} reported ({rate(h, n).strip()})" for name, (h, n) in got_up.items()]
    return "\n".join(lines)


def register_cli(sub: argparse._SubParsersAction) -> None:
    """Adds `fall` under `hub eval` (hub/cli/eval.py)."""
    p = sub.add_parser("fall", help="fall detector on a recorded dataset (SisFall)",
                       description="Streams every SisFall trial under DIR (<SUBJECT>/<CODE>_<SUBJECT>_R<NN>"
                                   ".txt[.gz]) through the fall detector, causally, each padded with its final "
                                   "posture, plus every fall spliced with the subject getting up and walking "
                                   "away, and prints sensitivity (any fall event / alarm) and specificity per age "
                                   "group (SA young, SE older), fall type and activity code, false alarms and "
                                   "false recovered-fall events per day of continuous wear, and the speed.")
    p.add_argument("--dataset", choices=("sisfall",), default="sisfall", help="dataset format")
    p.add_argument("dir", metavar="DIR", type=Path, help="dataset folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--threshold", type=float, default=None, help="score threshold (default: the detector's)")
    p.add_argument("--cross-validate", action="store_true",
                   help="refit the weights leaving one subject out at a time and report those figures")
    p.add_argument("--no-got-up", action="store_true", help="skip the spliced falls the wearer gets up from")
    p.add_argument("--seed", type=int, default=0, help="seed of the wear-day trial order and gaps, and the splices")
    p.add_argument("--get-up-s", type=float, default=3.0,
                   help="how long the spliced wearer takes to get up (s; from 6: through a reclined posture)")
    p.add_argument("--soften", nargs="?", const="chair", choices=("chair", "all"), default=None,
                   help="also every fall around a chair (F08-F15; 'all': every fall) made slower and softer, as "
                        "an older adult's (hub/detect/evaluation/soften.py), reported per transform")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hub.detect.evaluation.falls import evaluate

    root: Path = args.dir
    if not root.is_dir():
        print(f"hub eval fall: {root} is not a folder (expected SisFall subject folders SA01, SE01, ...)",
              file=sys.stderr)
        return 2
    params = FallParams() if args.threshold is None else FallParams(threshold=args.threshold)
    soften = None if args.soften is None else CHAIR_CODES if args.soften == "chair" else ()
    results, skipped = evaluate(root, params, args.limit, got_up=not args.no_got_up, seed=args.seed,
                                get_up_s=args.get_up_s, soften=soften)
    if not results:
        print(f"hub eval fall: no SisFall trials (<CODE>_<SUBJECT>_R<NN>.txt[.gz]) under {root}",
              file=sys.stderr)
        return 2
    from hub.detect.evaluation.cross_validation import fit_logistic, training_set
    from hub.detect.evaluation.nested import nested_cross_validate
    from hub.detect.evaluation.wear import cv_scorer, format_wear, summarise_wear, wear_streams

    summary = summarise(results)
    summary["skipped"] = skipped
    streams = wear_streams(find_trials(root)[:args.limit], params, args.seed)
    summary["wear"] = summarise_wear(streams)
    summary["subjects_table"] = per_subject(results, summary["wear"])
    summary["softened"] = softened_table(results)
    if args.cross_validate:
        try:
            outcomes, folds, (chosen, inner_errors) = nested_cross_validate(results, streams, params.threshold)
        except ValueError as exc:
            print(f"hub eval fall --cross-validate: {exc}", file=sys.stderr)
            return 2
        cv_full = summarise(results, outcomes)
        summary["cross_validation"] = {k: cv_full[k] for k in (
            "sensitivity", "sensitivity_alarm", "specificity", "groups", "worst_adl", "missed_fall_codes",
            "fall_types", "activities")}
        limits = {s: f.limits.values() for s, f in folds.items()}
        summary["cross_validation"]["wear"] = summarise_wear(streams, cv_scorer(
            {s: f.weights for s, f in folds.items()}, params.threshold, limits))
        summary["cross_validation"]["subjects_table"] = per_subject(
            results, summary["cross_validation"]["wear"], outcomes)
        summary["cross_validation"]["softened"] = softened_table(results, outcomes)
        summary["cross_validation"]["method"] = "nested leave-one-subject-out"
        summary["cross_validation"]["limits_per_fold"] = limits
        summary["cross_validation"]["limits_all_subjects"] = {**chosen.__dict__, "inner_errors": inner_errors}
        summary["cross_validation"]["weights_all_subjects"] = dict(
            zip((*FEATURES, "bias"), (round(float(v), 2) for v in fit_logistic(*training_set(results))),
                strict=True))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(format_report(summary, root))
    print(format_wear(summary["wear"]))
    print(format_subjects(summary["subjects_table"]))
    print(format_softened(summary["softened"]))
    if args.cross_validate:
        cv = summary["cross_validation"]
        print()
        print(format_report(cv_full, root, " (nested leave-one-subject-out)"))
        print(format_wear(cv["wear"], " (nested leave-one-subject-out)"))
        print(format_subjects(cv["subjects_table"]))
        print(format_softened(cv["softened"], " (nested leave-one-subject-out)"))
        print("landing constants chosen per fold without the held-out subject (recovered margin, dropped margin, "
              "drop m/s, impulse g*s): " + ", ".join(f"{s} {'/'.join(f'{x:g}' for x in v)}" for s, v in limits.items()))
        print(f"the same selection on all subjects: {cv['limits_all_subjects']}; shipped: recovered margin "
              f"{params.recovered_margin:g}, dropped margin {params.dropped_margin:g}, drop {params.drop_ms:g} m/s, "
              f"impulse {params.impact_gs:g} g*s")
        print("weights fitted on all subjects:", cv["weights_all_subjects"])
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s); see warnings above")
    return 0
