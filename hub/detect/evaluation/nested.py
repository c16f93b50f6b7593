"""Nested leave-one-subject-out for `hub eval fall --cross-validate`: the landing's constants that were
chosen on the spliced got-up falls (`recovered_margin`, `dropped_margin`, `drop_ms`, and since round 7 the
unbraked impact `impact_gs` that lowers the margin as the drop does) are chosen again
for every held-out subject *without* that subject, so the figures reported for them are honest.

For each held-out subject o: every other subject i is scored with weights fitted without o and i
(inner leave-one-out), every combination of `GRID` is counted on those inner scores — missed falls
(plain and spliced "got up") plus false events (alarm or fall.recovered) on ADL trials and on the
wear-day stream, each counting one — and of the combinations within one standard error of the fewest
errors (`tolerance`) the most conservative is kept (largest margins, the fastest drop, the hardest impact). Subject o
is then scored with weights fitted without o and those constants, exactly as `cross_validation.decide`
(the detector's rule) does. Both make the 10 s decision under the weights being scored and, for a
candidate those weights leave waiting, read what the longer watch saw (hub/detect/evaluation/watch.py),
not the rule the recording's own weights reached.
The same selection over all subjects is what the shipped constants are checked against. The softened
falls (soften.py) are scored the same way but never counted in the selection: they are reported only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from hub.detect.evaluation.cross_validation import decide, fit_logistic, training_set
from hub.detect.evaluation.falls import Outcome, TrialResult
from hub.detect.evaluation.watch import Watch
from hub.detect.evaluation.wear import REFRACTORY_S, WearStream
from hub.detect.fall.detector import FallParams, Rule
from hub.detect.fall.phases import (
    FEATURES,
    LYING_DEG,
    could_have_landed,
    hard_drop,
    moving,
    stopped_hard,
    unchanged,
    up_again,
)

GRID = {"recovered_margin": (5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0),
        "dropped_margin": (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
        "drop_ms": (0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6),
        "impact_gs": (math.inf, 0.25, 0.22, 0.2, 0.18, 0.16, 0.14)}


def tolerance(fewest: int) -> float:
    """Errors within this of the fewest are as good (the one-standard-error rule: a count of errors
    varies by about its square root); among them the most conservative constants are kept."""
    return math.sqrt(fewest)


@dataclass(frozen=True)
class Limits:
    recovered_margin: float = FallParams.recovered_margin
    dropped_margin: float = FallParams.dropped_margin
    drop_ms: float = FallParams.drop_ms
    impact_gs: float = FallParams.impact_gs

    def values(self) -> tuple[float, ...]:
        """As `cross_validation.decide` takes them, after the landing."""
        return self.recovered_margin, self.dropped_margin, self.drop_ms, self.impact_gs


@dataclass(frozen=True)
class Fold:
    weights: np.ndarray  # fitted without the subject, bias last
    limits: Limits  # chosen without the subject
    inner_errors: int  # errors of that choice on the other subjects (inner leave-one-out)


class _Candidates:
    """Every candidate of some trials and wear streams, with what does not depend on the weights."""

    def __init__(self, results: list[TrialResult], streams: list[WearStream]) -> None:
        rows: list[tuple[tuple[float, ...], Rule, tuple[float, ...] | None, Watch | None]] = []
        trial_of: list[int] = []
        stream_of: list[int] = []
        times: list[float] = []
        for k, r in enumerate(results):
            for row in r.decided():
                rows.append(row)
                trial_of.append(k)
                stream_of.append(-1)
                times.append(0.0)
        for k, s in enumerate(streams):
            for t, c, rule, landing, watch in s.candidates:
                rows.append((c, rule, landing, watch))
                trial_of.append(-1)
                stream_of.append(k)
                times.append(t)
        n, nf = len(rows), len(FEATURES)
        self.x = np.zeros((n, nf))
        self.land = np.zeros((n, nf))
        self.drop = np.zeros(n)
        self.area = np.zeros(n)  # the impact's impulse (g*s): `phases.stopped_hard`
        # At 10 s (`first`) and, for a candidate the weights leave waiting, after the longer watch (`later`,
        # hub/detect/evaluation/watch.py): a rule that alarms whatever the score; the score may alarm (not
        # moving, not unchanged, not vetoed). Without a watch, or a gentle impact: the recorded rule, once.
        self.force, self.can = np.zeros((2, n), bool), np.zeros((2, n), bool)
        self.waitable = np.zeros(n, bool)  # waits when the score does not alarm at 10 s
        self.gate = np.zeros(n, bool)  # the landing counts whatever the score: up again at 10 s, or watched
        # a landing that ends lying, not moving about (an event once it counts: a recovered fall or an alarm)
        self.has = np.zeros(n, bool)
        self.hard = np.zeros(n, bool)  # a landing after a hard drop, the same
        for j, (c, rule, landing, watch) in enumerate(rows):
            self.x[j] = c
            first, later = (rule, rule) if watch is None or watch[0] else watch[1:]
            for stage, at in enumerate((first, later)):
                self.force[stage, j] = at in ("from_lying", "hard_drop")
                self.can[stage, j] = not moving(c) and not unchanged(c) and at not in ("reseated", "got_up")
            self.gate[j] = up_again(c) or (first in ("got_up", "still_down"))
            self.waitable[j] = (watch is not None and not watch[0] and not up_again(c)
                                and first in (None, "reseated") and could_have_landed(landing))
            if landing is not None:
                self.land[j], self.drop[j] = landing[:nf], landing[nf]
                self.area[j] = math.exp(landing[5]) if stopped_hard(landing, 0.0) else 0.0  # braked: none
                self.has[j] = max(landing[3], landing[1]) * 90.0 >= LYING_DEG and not moving(landing)
                self.hard[j] = hard_drop(landing, landing[nf])
        self.trial_of, self.stream_of = np.asarray(trial_of), np.asarray(stream_of)
        self.times = np.asarray(times)
        self.results, self.streams = results, streams
        self.is_fall = np.asarray([r.trial.is_fall for r in results], bool)

    def errors(self, scores: tuple[np.ndarray, np.ndarray], threshold: float, limits: Limits) -> int:
        """Missed falls plus false events, with per-candidate (score, landing score) under some weights."""
        score, lscore = scores
        over = score > threshold
        alarm = self.force[0] | (self.can[0] & over)
        waits = self.waitable & ~alarm
        lowered = (self.drop >= limits.drop_ms) | (self.area >= limits.impact_gs)
        need = threshold + np.where(lowered, limits.dropped_margin, limits.recovered_margin)
        landed = self.hard | (self.has & (lscore > need))
        event = alarm | (waits & (self.force[1] | (self.can[1] & over))) | ((self.gate | waits) & landed)
        on_trial = self.trial_of >= 0
        hit = np.bincount(self.trial_of[on_trial], weights=event[on_trial], minlength=len(self.results)) > 0
        errors = int(np.count_nonzero(hit != self.is_fall))
        last: dict[int, float] = {}
        for j in np.flatnonzero(event & ~on_trial).tolist():  # in stream order: the wear refractory
            k, t = int(self.stream_of[j]), float(self.times[j])
            if t - last.get(k, -1e9) > REFRACTORY_S:
                errors, last[k] = errors + 1, t
        return errors

    def scores(self, rows: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score and landing score of the candidates selected by the boolean mask `rows` under `w`."""
        score = np.where(rows, self.x @ w[:-1] + w[-1], -np.inf)
        return score, np.where(rows, self.land @ w[:-1] + w[-1], -np.inf)


def choose(cands: _Candidates, scores: tuple[np.ndarray, np.ndarray], threshold: float) -> tuple[Limits, int]:
    """The most conservative grid point (largest margins, then the fastest drop, then the hardest impact)
    whose errors are within `tolerance` of the fewest: a difference of one or two events is noise, not
    evidence."""
    points = sorted((Limits(*p) for p in itertools.product(*GRID.values())),
                    key=lambda q: (-q.recovered_margin, -q.dropped_margin, -q.drop_ms, -q.impact_gs))
    errors = [cands.errors(scores, threshold, limits) for limits in points]
    fewest = min(errors)
    for limits, e in zip(points, errors, strict=True):
        if e <= fewest + tolerance(fewest):
            return limits, e
    raise AssertionError("unreachable: the fewest errors are within any tolerance")


def _inner_scores(cands: _Candidates, subjects: list[str], fit: dict[frozenset[str], np.ndarray],
                  of: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate of the subjects in `of`, scored by weights fitted without it (and without the
    held-out subject: `fit` is keyed by the subjects left out)."""
    score, lscore = np.full(len(cands.x), -np.inf), np.full(len(cands.x), -np.inf)
    who = _subject_of(cands)
    for i in of:
        rows = who == i
        left_out = frozenset(set(subjects) - set(of)) | {i}
        s, ls = cands.scores(rows, fit[left_out])
        score, lscore = np.where(rows, s, score), np.where(rows, ls, lscore)
    return score, lscore


def _subject_of(cands: _Candidates) -> np.ndarray:
    trial = [cands.results[k].trial.subject if k >= 0 else "" for k in cands.trial_of.tolist()]
    stream = [cands.streams[k].subject if k >= 0 else "" for k in cands.stream_of.tolist()]
    return np.asarray([a or b for a, b in zip(trial, stream, strict=True)])


def nested_cross_validate(results: list[TrialResult], streams: list[WearStream], threshold: float) -> tuple[
        dict[str, Outcome], dict[str, Fold], tuple[Limits, int]]:
    """Outcomes by `Trial.key` with each subject's weights and constants chosen without them, the folds,
    and the constants the same selection picks on all subjects (with their inner errors)."""
    subjects = sorted({r.trial.subject for r in results})
    if len(subjects) < 3:
        raise ValueError(f"nested leave-one-subject-out needs at least 3 subjects, got {len(subjects)}")
    train = {s: [r for r in results if r.trial.subject == s] for s in subjects}
    chosen_on = [r for r in results if not r.trial.softened]  # softened falls: reported, never chosen on

    def fitted(left_out: frozenset[str]) -> np.ndarray:
        return fit_logistic(*training_set([r for s in subjects if s not in left_out for r in train[s]]))

    fit: dict[frozenset[str], np.ndarray] = {}
    for a in subjects:
        fit[frozenset({a})] = fitted(frozenset({a}))
        for b in subjects:
            if a < b:
                fit[frozenset({a, b})] = fitted(frozenset({a, b}))
    outcomes: dict[str, Outcome] = {}
    folds: dict[str, Fold] = {}
    for held in subjects:
        others = [s for s in subjects if s != held]
        cands = _Candidates([r for r in chosen_on if r.trial.subject != held],
                            [s for s in streams if s.subject != held])
        limits, errors = choose(cands, _inner_scores(cands, subjects, fit, others), threshold)
        folds[held] = Fold(fit[frozenset({held})], limits, errors)
        for r in train[held]:
            found = {decide(folds[held].weights, threshold, tuple(c), rule, landing, *limits.values(), watch=watch)
                     for c, rule, landing, watch in r.decided()}
            outcomes[r.trial.key] = "alarm" if "alarm" in found else "recovered" if "recovered" in found else None
    everyone = _Candidates(chosen_on, streams)
    return outcomes, folds, choose(everyone, _inner_scores(everyone, subjects, fit, subjects), threshold)
