"""`hub eval fall --dataset sisfall DIR`: run the fall detector over every SisFall trial under DIR.

Each trial is streamed through `hub.detect.fall.detector.FallDetector` in 1 s chunks, exactly as a worn sensor
would feed it, so every decision is causal. The recording is padded with its final posture (its
last second repeated) long enough for the post-fall phase: a recording that ends 2 s after an impact
would otherwise hide the decision. A fall trial counts as detected when any suspected fall is
decided; an ADL trial is a false alarm when any is. Figures per fall type and per age group (SA young,
SE older), and false alarms per day of continuous wear (`hub/detect/evaluation/wear.py`).
`--cross-validate` refits the score's weights leaving one subject out at a time (the figures
docs/detection.md reports).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hub.detect.fall.detector import FEATURES, FallDetector, FallParams, from_lying

SISFALL_RATE = 200.0
ADXL345_COUNTS_PER_G = 256.0  # ±16 g, 13 bit
PAD_MARGIN_S = 2.0  # padding beyond the post-fall phase
FALL_TYPES = {  # SisFall's fall codes by how the fall begins
    "from walking/jogging (F01-F07)": ("F01", "F02", "F03", "F04", "F05", "F06", "F07"),
    "getting up / sitting down (F08-F12)": ("F08", "F09", "F10", "F11", "F12"),
    "from sitting: faint, slump (F13-F15)": ("F13", "F14", "F15"),
}
TRIAL_NAME = re.compile(r"^(?P<code>[DF]\d\d)_(?P<subject>S[AE]\d\d)_R(?P<trial>\d\d)\.txt(?:\.gz)?$")


class TrialError(Exception):
    """A trial file that cannot be used, worded with the file and the line."""


@dataclass
class Trial:
    path: Path
    code: str
    subject: str

    @property
    def group(self) -> str:
        return self.subject[:2]

    @property
    def is_fall(self) -> bool:
        return self.code.startswith("F")


def find_trials(root: Path) -> list[Trial]:
    trials = []
    for path in sorted(root.rglob("*.txt*")):
        match = TRIAL_NAME.match(path.name)
        if match:
            trials.append(Trial(path, match["code"], match["subject"]))
    return trials


def read_waist_adxl(path: Path) -> np.ndarray:
    """The waist ADXL345 x, y, z in g, from SisFall's text format (9 integers per line, then ';')."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="ascii", errors="replace") as f:
            text = f.read()
    except (OSError, EOFError) as exc:
        raise TrialError(f"{path}: cannot read ({exc})") from None
    lines = [ln.strip().rstrip(";").strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise TrialError(f"{path}: no samples")
    try:  # fast path: every line has the same number of integer columns
        flat = np.array(re.split(r"[,\s]+", ",".join(lines)), dtype=np.float64)
        if len(flat) % len(lines) or len(flat) // len(lines) < 3:
            raise ValueError
        rows = flat.reshape(len(lines), -1)[:, :3]
    except ValueError:
        rows = _slow_rows(path, lines)
    return rows / ADXL345_COUNTS_PER_G


def _slow_rows(path: Path, lines: list[str]) -> np.ndarray:
    good, bad = [], 0
    for line in lines:
        try:
            values = [float(v) for v in re.split(r"[,\s]+", line) if v]
        except ValueError:
            values = []
        if len(values) >= 3:
            good.append(values[:3])
        else:
            bad += 1
    if not good:
        raise TrialError(f"{path}: no line has the 3 ADXL345 columns")
    if bad:
        print(f"warning: {path}: skipped {bad} malformed line(s)", file=sys.stderr)
    return np.array(good, dtype=np.float64)


@dataclass
class TrialResult:
    trial: Trial
    seconds: float
    detected: bool
    latency_s: float | None  # decision time minus impact time of the first suspected fall
    cpu_s: float
    candidates: list[tuple[float, ...]] = field(default_factory=list)
    rules: list[bool] = field(default_factory=list)  # per candidate: the from-lying rule fired
    kind: str | None = None  # the first suspected fall's kind


def padded(acc: np.ndarray, seconds: float, rate: float = SISFALL_RATE) -> np.ndarray:
    """The recording followed by its final posture (the last second, repeated) for `seconds`."""
    tail = acc[-int(rate):]
    reps = math.ceil(seconds * rate / max(len(tail), 1))
    return np.vstack((acc, np.tile(tail, (reps, 1))[:round(seconds * rate)]))


def run_trial(trial: Trial, acc: np.ndarray, params: FallParams | None = None) -> TrialResult:
    params = params or FallParams()
    detector = FallDetector(SISFALL_RATE, params)
    first = None
    feats: list[tuple[float, ...]] = []
    rules: list[bool] = []
    chunk = int(SISFALL_RATE)
    seconds = len(acc) / SISFALL_RATE
    stream = padded(acc, params.decide_after_s + PAD_MARGIN_S)
    start = time.perf_counter()
    for i in range(0, len(stream), chunk):
        for assessment in detector.push(stream[i:i + chunk]):
            feats.append(assessment.features)
            rules.append(from_lying(assessment.features, assessment.descent_s, params.from_lying_g))
            if assessment.fall and first is None:
                first = assessment
    cpu = time.perf_counter() - start
    return TrialResult(trial, seconds, first is not None,
                       None if first is None else first.t - first.impact_t, cpu, feats, rules,
                       None if first is None else first.kind)


def evaluate(root: Path, params: FallParams | None = None, limit: int | None = None) -> tuple[
        list[TrialResult], list[str]]:
    results, skipped = [], []
    for trial in find_trials(root)[:limit]:
        try:
            acc = read_waist_adxl(trial.path)
        except TrialError as exc:
            print(f"warning: skipped {exc}", file=sys.stderr)
            skipped.append(str(trial.path))
            continue
        results.append(run_trial(trial, acc, params))
    return results, skipped


def _rate(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def summarise(results: list[TrialResult], scores: dict[Path, bool] | None = None) -> dict[str, Any]:
    """Figures per group; `scores` overrides each trial's detection (used by cross-validation)."""
    def det(r: TrialResult) -> bool:
        return r.detected if scores is None else scores[r.trial.path]

    groups: dict[str, dict[str, Any]] = {}
    for group in sorted({r.trial.group for r in results} | {"SA", "SE"}):
        rs = [r for r in results if r.trial.group == group]
        falls = [r for r in rs if r.trial.is_fall]
        adls = [r for r in rs if not r.trial.is_fall]
        tp = sum(det(r) for r in falls)
        fp = sum(det(r) for r in adls)
        groups[group] = {"trials": len(rs), "falls": len(falls), "detected": tp, "missed": len(falls) - tp,
                         "adls": len(adls), "false_alarms": fp, "sensitivity": _rate(tp, len(falls)),
                         "specificity": _rate(len(adls) - fp, len(adls))}
    falls = [r for r in results if r.trial.is_fall]
    adls = [r for r in results if not r.trial.is_fall]
    per_code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in adls:
        per_code[r.trial.code][0] += det(r)
        per_code[r.trial.code][1] += 1
    worst = sorted(((c, fa, n) for c, (fa, n) in per_code.items() if fa), key=lambda x: (-x[1] / x[2], x[0]))
    missed: dict[str, int] = defaultdict(int)
    for r in falls:
        if not det(r):
            missed[r.trial.code] += 1
    per_type: dict[str, dict[str, Any]] = {}
    for name, codes in FALL_TYPES.items():
        rs = [r for r in falls if r.trial.code in codes]
        hit = sum(det(r) for r in rs)
        per_type[name] = {"falls": len(rs), "detected": hit, "sensitivity": _rate(hit, len(rs))}
    fall_codes = {code: {"falls": len(rs), "detected": sum(det(r) for r in rs)}
                  for code in sorted({r.trial.code for r in falls})
                  for rs in [[r for r in falls if r.trial.code == code]]}
    kinds: dict[str, int] = defaultdict(int)
    for r in falls + adls:
        if det(r) and r.kind is not None:
            kinds[("fall:" if r.trial.is_fall else "adl:") + r.kind] += 1
    latencies = [r.latency_s for r in falls if r.latency_s is not None]
    seconds = sum(r.seconds for r in results)
    cpu = sum(r.cpu_s for r in results)
    tp = sum(det(r) for r in falls)
    fp = sum(det(r) for r in adls)
    return {"trials": len(results), "subjects": len({r.trial.subject for r in results}),
            "sensitivity": _rate(tp, len(falls)), "specificity": _rate(len(adls) - fp, len(adls)),
            "outcomes": {"falls_detected": tp, "falls_missed": len(falls) - tp,
                         "adl_false_alarms": fp, "adl_correct": len(adls) - fp},
            "groups": groups,
            "worst_adl": [{"code": c, "false_alarms": fa, "trials": n} for c, fa, n in worst[:5]],
            "missed_fall_codes": dict(sorted(missed.items())),
            "fall_types": per_type, "fall_codes": fall_codes, "kinds": dict(sorted(kinds.items())),
            "median_latency_s": float(np.median(latencies)) if latencies else None,
            "signal_s": seconds, "detector_cpu_s": cpu,
            "realtime_factor": seconds / cpu if cpu > 0 else None}


# --- report and CLI ------------------------------------------------------------------------------

def _pct(v: float | None) -> str:
    return "   n/a" if v is None else f"{100 * v:5.1f}%"


def format_report(s: dict[str, Any], root: Path, title: str = "") -> str:
    lines = [f"SisFall fall detection{title}: {s['trials']} trials, {s['subjects']} subjects, {root}",
             "group  trials  falls detected missed   ADLs false-alarms  sensitivity specificity"]
    for g, v in s["groups"].items():
        lines.append(f"{g:<6} {v['trials']:6d} {v['falls']:6d} {v['detected']:8d} {v['missed']:6d} "
                     f"{v['adls']:6d} {v['false_alarms']:12d}       {_pct(v['sensitivity'])}      "
                     f"{_pct(v['specificity'])}")
    o = s["outcomes"]
    n_falls, n_adls = o["falls_detected"] + o["falls_missed"], o["adl_false_alarms"] + o["adl_correct"]
    lines.append(f"all    {s['trials']:6d} {n_falls:6d} "
                 f"{o['falls_detected']:8d} {o['falls_missed']:6d} {n_adls:6d} "
                 f"{o['adl_false_alarms']:12d}       {_pct(s['sensitivity'])}      {_pct(s['specificity'])}")
    worst = ", ".join(f"{w['code']} {w['false_alarms']}/{w['trials']}" for w in s["worst_adl"]) or "none"
    lines.append(f"worst ADL codes (false alarms/trials): {worst}")
    missed = ", ".join(f"{c} {n}" for c, n in s["missed_fall_codes"].items()) or "none"
    lines.append(f"missed falls by code: {missed}")
    for name, v in s["fall_types"].items():
        lines.append(f"  falls {name}: {v['detected']}/{v['falls']} detected ({_pct(v['sensitivity']).strip()})")
    if s.get("kinds"):
        lines.append("kinds reported: " + ", ".join(f"{k} {n}" for k, n in s["kinds"].items()))
    if s["median_latency_s"] is not None:
        lines.append(f"decision {s['median_latency_s']:.1f} s after the impact (median)")
    if s["realtime_factor"] is not None:
        lines.append(f"speed: {s['realtime_factor']:.0f}x real time on one core "
                     f"({s['signal_s']:.0f} s of signal in {s['detector_cpu_s']:.2f} s)")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    """Adds `fall` under `hub eval` (hub/cli/eval.py)."""
    p = sub.add_parser("fall", help="fall detector on a recorded dataset (SisFall)",
                       description="Streams every SisFall trial under DIR (<SUBJECT>/<CODE>_<SUBJECT>_R<NN>"
                                   ".txt[.gz]) through the fall detector, causally, each padded with its final "
                                   "posture, and prints sensitivity and specificity per age group (SA young, SE "
                                   "older) and fall type, false alarms per day of continuous wear, and the speed.")
    p.add_argument("--dataset", choices=("sisfall",), default="sisfall", help="dataset format")
    p.add_argument("dir", metavar="DIR", type=Path, help="dataset folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--threshold", type=float, default=None, help="score threshold (default: the detector's)")
    p.add_argument("--cross-validate", action="store_true",
                   help="refit the weights leaving one subject out at a time and report those figures")
    p.add_argument("--seed", type=int, default=0, help="seed of the wear-day trial order and gaps")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        print(f"hub eval fall: {root} is not a folder (expected SisFall subject folders SA01, SE01, ...)",
              file=sys.stderr)
        return 2
    params = FallParams() if args.threshold is None else FallParams(threshold=args.threshold)
    results, skipped = evaluate(root, params, args.limit)
    if not results:
        print(f"hub eval fall: no SisFall trials (<CODE>_<SUBJECT>_R<NN>.txt[.gz]) under {root}",
              file=sys.stderr)
        return 2
    from hub.detect.evaluation.cross_validation import cross_validate_weights
    from hub.detect.evaluation.wear import cv_scorer, format_wear, summarise_wear, wear_streams

    summary = summarise(results)
    summary["skipped"] = skipped
    streams = wear_streams(find_trials(root)[:args.limit], params, args.seed)
    summary["wear"] = summarise_wear(streams)
    if args.cross_validate:
        detected, weights, per_subject = cross_validate_weights(results, params.threshold)
        cv = summarise(results, detected)
        summary["cross_validation"] = {k: cv[k] for k in ("sensitivity", "specificity", "groups",
                                                           "worst_adl", "missed_fall_codes", "fall_types")}
        summary["cross_validation"]["wear"] = summarise_wear(streams, cv_scorer(per_subject, params.threshold))
        summary["cross_validation"]["method"] = "leave-one-subject-out"
        summary["cross_validation"]["weights_all_subjects"] = dict(
            zip((*FEATURES, "bias"), (round(float(v), 2) for v in weights), strict=True))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(format_report(summary, root))
    print(format_wear(summary["wear"]))
    if args.cross_validate:
        cv_full = summarise(results, detected)
        print()
        print(format_report(cv_full, root, " (leave-one-subject-out refit)"))
        print(format_wear(summary["cross_validation"]["wear"], " (leave-one-subject-out refit)"))
        print("weights fitted on all subjects:", summary["cross_validation"]["weights_all_subjects"])
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s); see warnings above")
    return 0


