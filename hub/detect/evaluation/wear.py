"""False alarms per day of continuous wear: the development ADL trials of each subject, concatenated.

A per-trial specificity hides how often a worn detector would go off in a day: the detector runs
all day, across transitions between activities, and a resident woken by false alarms takes the
sensor off. Each subject's ADL trials are streamed through one detector, in a seeded random order,
with an idle gap between them (the previous trial's final posture — the mean of its last second —
held for 10-40 s with sensor noise, the way a person stands or sits between activities, then turned
over 3 s into the next trial's first posture), never resetting the detector; the last posture is held
at the end until every pending decision is made.

Quiet time raises no impact candidate, so what counts is the active time: a day of wear is taken
as `ACTIVE_H_PER_DAY` hours of the activities in SisFall's ADL set (walking, stairs, sitting down
and getting up, lying down, bending, jogging...) within 16 h worn, and false alarms per day =
false alarms per active hour x `ACTIVE_H_PER_DAY`. SisFall's ADLs are denser in brisk movement than
an older person's day, so the figure is pessimistic; per active hour is printed too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hub.detect.evaluation.falls import SISFALL_RATE, Trial, TrialError, read_waist_adxl
from hub.detect.evaluation.watch import Tape, Watch, watches
from hub.detect.fall.detector import Assessment, FallDetector, FallParams, Rule
from hub.detect.fall.phases import STAY_S

ACTIVE_H_PER_DAY = 4.0
GAP_S = (10.0, 40.0)
TURN_S = 3.0
NOISE_G = 0.01  # the accelerometer's noise while the wearer is still
REFRACTORY_S = 10.0

Landing = tuple[float, ...] | None
# (subject, features, rule (detector.Rule), landing features, watch) -> "alarm", "recovered" or None
Scorer = Callable[[str, tuple[float, ...], Rule, Landing, Watch | None], "str | None"]


@dataclass
class WearStream:
    subject: str
    active_s: float = 0.0
    worn_s: float = 0.0
    falls: int = 0  # suspected falls (alarms) with the detector's own weights
    recovered: int = 0  # recovered-fall events (fall.recovered) with the detector's own weights
    # (impact time, features, rule, landing, watch: hub/detect/evaluation/watch.py)
    candidates: list[tuple[float, tuple[float, ...], Rule, Landing, Watch | None]] = field(default_factory=list)
    codes: list[tuple[float, str]] = field(default_factory=list)  # (stream start s, ADL code)


def stream_subject(subject: str, trials: list[Trial], params: FallParams, seed: int) -> WearStream:
    rng = random.Random(f"{seed}:{subject}")
    noise = np.random.default_rng(rng.randrange(2**32))
    order = sorted((t for t in trials if not t.is_fall), key=lambda t: str(t.path))
    rng.shuffle(order)
    det = FallDetector(SISFALL_RATE, FallParams(**{**params.__dict__, "explain": True}))
    out = WearStream(subject)
    tape, found = Tape(SISFALL_RATE), list[Assessment]()
    previous: np.ndarray | None = None
    for trial in order:
        try:
            acc = read_waist_adxl(trial.path)
        except TrialError:
            continue
        gap = rng.uniform(*GAP_S)
        second = int(SISFALL_RATE)
        if previous is not None:
            turn = transition(previous, acc[:second].mean(axis=0), gap)
            stream = np.vstack((turn + noise.normal(0.0, NOISE_G, turn.shape), acc))
        else:
            stream = acc
        previous = acc[-second:].mean(axis=0)  # the posture it ended in (gravity), not one mid-stride sample
        out.codes.append((out.worn_s + (len(stream) - len(acc)) / SISFALL_RATE, trial.code))
        found += _push(det, stream, out, tape)
        out.active_s += len(acc) / SISFALL_RATE
        out.worn_s += len(stream) / SISFALL_RATE
    if previous is not None:  # the last posture held long enough for every pending decision
        tail = transition(previous, previous, params.decide_after_s + STAY_S + REFRACTORY_S)
        found += _push(det, tail + noise.normal(0.0, NOISE_G, tail.shape), out, tape)
    out.candidates = [(a.impact_t, a.features, a.rule, a.landing, w)
                      for a, w in zip((a for a in found if a.kind != "collapse"), watches(tape, found, params),
                                      strict=True)]
    out.candidates.sort(key=lambda c: c[0])  # a gentle impact is decided later than the ones after it
    return out


def _push(det: FallDetector, stream: np.ndarray, out: WearStream, tape: Tape) -> list[Assessment]:
    chunk, found = int(SISFALL_RATE), list[Assessment]()
    tape.push(stream)
    for i in range(0, len(stream), chunk):
        for a in det.push(stream[i:i + chunk]):
            found.append(a)
            out.falls += a.fall
            out.recovered += a.recovered
    return found


def transition(last: np.ndarray, first: np.ndarray, seconds: float) -> np.ndarray:
    """An idle gap: the previous trial's final posture held, then turned over `TURN_S` into the next
    trial's first posture at 1 g (sitting or lying down, getting up: a posture change without impact)."""
    n, turn = round(seconds * SISFALL_RATE), round(TURN_S * SISFALL_RATE)
    a, b = last / max(float(np.linalg.norm(last)), 1e-9), first / max(float(np.linalg.norm(first)), 1e-9)
    k = np.clip((np.arange(n) - (n - turn)) / turn, 0.0, 1.0)[:, None]
    path = a * (1 - k) + b * k
    return path / np.maximum(np.linalg.norm(path, axis=1, keepdims=True), 1e-9)


def wear_streams(trials: list[Trial], params: FallParams | None = None, seed: int = 0) -> list[WearStream]:
    params = params or FallParams()
    subjects = sorted({t.subject for t in trials})
    return [stream_subject(s, [t for t in trials if t.subject == s], params, seed) for s in subjects]


def summarise_wear(streams: list[WearStream], scorer: Scorer | None = None) -> dict[str, Any]:
    """False alarms and false recovered-fall events per day of wear, overall and per age group (SA
    young, SE older). `scorer` replaces the detector's own decision (cross-validation: weights fitted
    without the subject)."""
    def count(s: WearStream) -> tuple[int, int]:
        if scorer is None:
            return s.falls, s.recovered
        n, r, last = 0, 0, -1e9
        for t, feats, rule, landing, watch in s.candidates:
            if t - last <= REFRACTORY_S:
                continue
            outcome = scorer(s.subject, feats, rule, landing, watch)
            n, r = n + (outcome == "alarm"), r + (outcome == "recovered")
            last = t if outcome else last
        return n, r

    subjects: dict[str, dict[str, Any]] = {}
    for s in streams:
        fa, fr = count(s)
        subjects[s.subject] = {"active_h": round(s.active_s / 3600, 2), "false_alarms": fa, "false_recovered": fr,
                               **_per(fa, fr, s.active_s / 3600)}
    groups: dict[str, dict[str, Any]] = {}
    for group in sorted({s.subject[:2] for s in streams}):
        ss = [s for s in streams if s.subject[:2] == group]
        fa, fr = map(sum, zip(*(count(s) for s in ss), strict=True)) if ss else (0, 0)
        active_h = sum(s.active_s for s in ss) / 3600
        groups[group] = {"subjects": len(ss), "active_h": round(active_h, 2), "false_alarms": fa,
                         "false_recovered": fr, **_per(fa, fr, active_h)}
    fa, fr = map(sum, zip(*(count(s) for s in streams), strict=True)) if streams else (0, 0)
    active_h = sum(s.active_s for s in streams) / 3600
    return {"subjects": len(streams), "active_h": round(active_h, 2),
            "worn_h": round(sum(s.worn_s for s in streams) / 3600, 2), "false_alarms": fa,
            "false_recovered": fr, **_per(fa, fr, active_h),
            "active_h_per_day": ACTIVE_H_PER_DAY, "groups": groups, "subjects_figures": subjects}


def _per(fa: int, fr: int, active_h: float) -> dict[str, float | None]:
    """Per active hour and per day of wear (`ACTIVE_H_PER_DAY` active hours)."""
    return {"per_active_h": round(fa / active_h, 3) if active_h else None,
            "per_day": round(fa / active_h * ACTIVE_H_PER_DAY, 2) if active_h else None,
            "recovered_per_day": round(fr / active_h * ACTIVE_H_PER_DAY, 2) if active_h else None}


def cv_scorer(weights: dict[str, np.ndarray], threshold: float,
              limits: dict[str, tuple[float, ...]] | None = None) -> Scorer:
    """Each subject's candidates decided with the weights fitted without that subject, and (nested) the
    landing's constants (recovered margin, dropped margin, drop m/s) chosen without them."""
    from hub.detect.evaluation.cross_validation import decide

    def score(subject: str, feats: tuple[float, ...], rule: Rule, landing: Landing, watch: Watch | None) -> str | None:
        if limits is None:
            return decide(weights[subject], threshold, feats, rule, landing, watch=watch)
        return decide(weights[subject], threshold, feats, rule, landing, *limits[subject], watch=watch)
    return score


def format_wear(w: dict[str, Any], title: str = "") -> str:
    lines = [f"false alarms per day of continuous wear{title}: {w['subjects']} subjects' ADL trials concatenated "
             f"({w['active_h']} h active, {w['worn_h']} h streamed), a day = {w['active_h_per_day']:g} h active",
             f"  all: {w['false_alarms']} false alarms, {w['per_active_h']} per active hour, "
             f"{w['per_day']} per day; {w['false_recovered']} false recovered-fall events, "
             f"{w['recovered_per_day']} per day"]
    lines += [f"  {g}: {v['false_alarms']} false alarms in {v['active_h']} h, {v['per_day']} per day; "
              f"{v['false_recovered']} recovered-fall events, {v['recovered_per_day']} per day"
              for g, v in w["groups"].items()]
    return "\n".join(lines)
