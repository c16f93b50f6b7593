"""`hub eval fall --dataset sisfall DIR`: run the fall detector over every SisFall trial under DIR.

Each trial is streamed through `hub.detect.fall.detector.FallDetector` in 1 s chunks, exactly as a worn
sensor would feed it, so every decision is causal. The recording is padded with its final posture (its
last second repeated) long enough for the post-fall phase and the watch over a soft landing: a recording
that ends 2 s after an impact would otherwise hide the decision. Each trial's outcome is the strongest
decision in it: `alarm` (a suspected fall: countdown, then alarm.fall), else `recovered` (a fall the
wearer got up from: fall.recovered), else none. A fall trial counts for "any fall event" when either is
decided and for "alarm" when an alarm is; an ADL trial is a false alarm with an alarm, a false
recovered-fall event with a recovered. Falls the wearer gets up from are spliced (splice.py), older
adults' made slower and softer (`--soften`: soften.py). Figures per age group (SA young, SE older), fall
type and activity code, and false alarms per day of continuous wear (wear.py). `--cross-validate`
refits the score's weights leaving one subject out at a time and chooses the landing's constants without
that subject too (nested: hub/detect/evaluation/nested.py; the figures docs/detection.md reports);
the report and CLI are in `hub/detect/evaluation/fall_report.py`.
"""

from __future__ import annotations

import gzip
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hub.detect.evaluation.watch import Tape, Watch, watches
from hub.detect.fall.detector import Assessment, FallDetector, FallParams, Rule
from hub.detect.fall.phases import STAY_S

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
    variant: str = ""  # "got_up": the fall spliced with a get-up (splice.py); "soften:<name>": soften.py

    @property
    def key(self) -> str:
        return f"{self.path}#{self.variant}" if self.variant else str(self.path)

    @property
    def group(self) -> str:
        return self.subject[:2]

    @property
    def is_fall(self) -> bool:
        return self.code.startswith("F")

    @property
    def softened(self) -> bool:  # an older adult's fall, made from this one (soften.py)
        return self.variant.startswith("soften:")


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


Outcome = str | None  # "alarm", "recovered" or None


@dataclass
class TrialResult:
    trial: Trial
    seconds: float
    detected: bool  # an alarm (suspected fall, countdown) was decided
    latency_s: float | None  # decision time minus impact time of the first suspected fall
    cpu_s: float
    candidates: list[tuple[float, ...]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)  # per candidate: the rule that decides whatever the score
    kind: str | None = None  # the first suspected fall's kind
    recovered: bool = False  # a recovered fall (fall.recovered) was decided
    landings: list[tuple[float, ...] | None] = field(default_factory=list)  # per candidate: landing features
    # per candidate: what the 10 s decision and the longer watch read (hub/detect/evaluation/watch.py)
    watches: list[Watch] = field(default_factory=list)

    def decided(self) -> Iterator[tuple[tuple[float, ...], Rule, tuple[float, ...] | None, Watch | None]]:
        """Each candidate's features, rule, landing and watch (None where none was recorded)."""
        watches: list[Watch | None] = list(self.watches) if self.watches else [None] * len(self.candidates)
        return zip(self.candidates, self.rules, self.landings, watches, strict=True)

    @property
    def outcome(self) -> Outcome:
        return "alarm" if self.detected else "recovered" if self.recovered else None


def padded(acc: np.ndarray, seconds: float, rate: float = SISFALL_RATE) -> np.ndarray:
    """The recording followed by its final posture (the last second, repeated) for `seconds`."""
    tail = acc[-int(rate):]
    reps = math.ceil(seconds * rate / max(len(tail), 1))
    return np.vstack((acc, np.tile(tail, (reps, 1))[:round(seconds * rate)]))


def run_trial(trial: Trial, acc: np.ndarray, params: FallParams | None = None) -> TrialResult:
    params = params or FallParams()
    params = FallParams(**{**params.__dict__, "explain": True})
    detector = FallDetector(SISFALL_RATE, params)
    first = None
    recovered = False
    feats: list[tuple[float, ...]] = []
    rules: list[Rule] = []
    landings: list[tuple[float, ...] | None] = []
    chunk = int(SISFALL_RATE)
    seconds = len(acc) / SISFALL_RATE
    stream = padded(acc, params.decide_after_s + STAY_S + PAD_MARGIN_S)
    found: list[Assessment] = []
    start = time.perf_counter()
    for i in range(0, len(stream), chunk):
        for assessment in detector.push(stream[i:i + chunk]):
            found.append(assessment)
            if assessment.kind != "collapse":  # an impact candidate (a collapse has none)
                feats.append(assessment.features)
                rules.append(assessment.rule)
                landings.append(assessment.landing)
            recovered = recovered or assessment.recovered
            if assessment.fall and first is None:
                first = assessment
    cpu = time.perf_counter() - start
    tape = Tape(SISFALL_RATE)
    tape.push(stream)
    return TrialResult(trial, seconds, first is not None,
                       None if first is None else first.t - first.impact_t, cpu, feats, rules,
                       None if first is None else first.kind, recovered, landings, watches(tape, found, params))


def evaluate(root: Path, params: FallParams | None = None, limit: int | None = None,
             got_up: bool = True, seed: int = 0, get_up_s: float = 3.0,
             soften: tuple[str, ...] | None = None) -> tuple[list[TrialResult], list[str]]:
    """Every trial under `root`, then (`got_up`) every fall trial spliced with its subject getting up,
    then (`soften`: fall codes, empty for every fall) the falls made slower and softer (soften.py)."""
    results, skipped = [], []
    trials = find_trials(root)[:limit]
    for trial in trials:
        try:
            acc = read_waist_adxl(trial.path)
        except TrialError as exc:
            print(f"warning: skipped {exc}", file=sys.stderr)
            skipped.append(str(trial.path))
            continue
        results.append(run_trial(trial, acc, params))
    from hub.detect.evaluation.soften import soften_trials
    from hub.detect.evaluation.splice import got_up_trials
    spliced = got_up_trials(trials, seed, get_up_s) if got_up else iter(())
    softened = soften_trials(trials, soften or None) if soften is not None else iter(())
    results += [run_trial(trial, acc, params) for made in (spliced, softened) for trial, acc in made]
    return results, skipped


def _rate(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def summarise(results: list[TrialResult], outcomes: dict[str, Outcome] | None = None) -> dict[str, Any]:
    """Figures per group; `outcomes` overrides each trial's outcome (used by cross-validation)."""
    def out(r: TrialResult) -> Outcome:
        return r.outcome if outcomes is None else outcomes[r.trial.key]

    def alarm(r: TrialResult) -> bool:
        return out(r) == "alarm"

    def event(r: TrialResult) -> bool:
        return out(r) is not None

    plain = [r for r in results if not r.trial.variant]
    spliced = [r for r in results if r.trial.variant == "got_up"]
    groups: dict[str, dict[str, Any]] = {}
    for group in sorted({r.trial.group for r in plain} | {"SA", "SE"}):
        rs = [r for r in plain if r.trial.group == group]
        falls = [r for r in rs if r.trial.is_fall]
        adls = [r for r in rs if not r.trial.is_fall]
        tp, ta = sum(event(r) for r in falls), sum(alarm(r) for r in falls)
        fp, fr = sum(alarm(r) for r in adls), sum(out(r) == "recovered" for r in adls)
        up = [r for r in spliced if r.trial.group == group]
        groups[group] = {"trials": len(rs), "falls": len(falls), "detected": tp, "missed": len(falls) - tp,
                         "alarmed": ta, "adls": len(adls), "false_alarms": fp, "false_recovered": fr,
                         "sensitivity": _rate(tp, len(falls)), "sensitivity_alarm": _rate(ta, len(falls)),
                         "specificity": _rate(len(adls) - fp, len(adls)),
                         "specificity_any": _rate(len(adls) - fp - fr, len(adls)),
                         "got_up": {"trials": len(up), "events": sum(event(r) for r in up),
                                    "recovered": sum(out(r) == "recovered" for r in up),
                                    "alarms": sum(alarm(r) for r in up),
                                    "sensitivity": _rate(sum(event(r) for r in up), len(up))}}
    falls = [r for r in plain if r.trial.is_fall]
    adls = [r for r in plain if not r.trial.is_fall]
    per_code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in adls:
        per_code[r.trial.code][0] += alarm(r)
        per_code[r.trial.code][1] += 1
    worst = sorted(((c, fa, n) for c, (fa, n) in per_code.items() if fa), key=lambda x: (-x[1] / x[2], x[0]))
    missed: dict[str, int] = defaultdict(int)
    for r in falls:
        if not event(r):
            missed[r.trial.code] += 1
    per_type: dict[str, dict[str, Any]] = {}
    for name, codes in FALL_TYPES.items():
        rs = [r for r in falls if r.trial.code in codes]
        hit = sum(event(r) for r in rs)
        per_type[name] = {"falls": len(rs), "detected": hit, "alarmed": sum(alarm(r) for r in rs),
                          "sensitivity": _rate(hit, len(rs))}
    activities = {code: {"trials": len(rs), "alarms": sum(alarm(r) for r in rs),
                         "recovered": sum(out(r) == "recovered" for r in rs)}
                  for code in sorted({r.trial.code for r in plain})
                  for rs in [[r for r in plain if r.trial.code == code]]}
    fall_codes = {c: {"falls": v["trials"], "detected": v["alarms"] + v["recovered"]}
                  for c, v in activities.items() if c.startswith("F")}
    kinds: dict[str, int] = defaultdict(int)
    for r in falls + adls:
        if alarm(r) and r.kind is not None:
            kinds[("fall:" if r.trial.is_fall else "adl:") + r.kind] += 1
    latencies = [r.latency_s for r in falls if r.latency_s is not None]
    seconds = sum(r.seconds for r in results)
    cpu = sum(r.cpu_s for r in results)
    tp, ta = sum(event(r) for r in falls), sum(alarm(r) for r in falls)
    fp, fr = sum(alarm(r) for r in adls), sum(out(r) == "recovered" for r in adls)
    return {"trials": len(plain), "subjects": len({r.trial.subject for r in plain}),
            "sensitivity": _rate(tp, len(falls)), "sensitivity_alarm": _rate(ta, len(falls)),
            "specificity": _rate(len(adls) - fp, len(adls)),
            "outcomes": {"falls_detected": tp, "falls_missed": len(falls) - tp, "falls_alarmed": ta,
                         "adl_false_alarms": fp, "adl_false_recovered": fr, "adl_correct": len(adls) - fp},
            "groups": groups,
            "worst_adl": [{"code": c, "false_alarms": fa, "trials": n} for c, fa, n in worst[:5]],
            "missed_fall_codes": dict(sorted(missed.items())),
            "fall_types": per_type, "fall_codes": fall_codes, "activities": activities,
            "kinds": dict(sorted(kinds.items())),
            "median_latency_s": float(np.median(latencies)) if latencies else None,
            "signal_s": seconds, "detector_cpu_s": cpu,
            "realtime_factor": seconds / cpu if cpu > 0 else None}


def register(sub: Any) -> None:
    """Adds `fall` under `hub eval` (hub/cli/eval.py); the report and CLI: fall_report.py."""
    from hub.detect.evaluation.fall_report import register_cli

    register_cli(sub)
