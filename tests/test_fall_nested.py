"""Nested leave-one-subject-out (hub/detect/evaluation/nested.py): the landing's constants used to score
a subject are chosen without that subject, so nothing a held-out subject recorded can move them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hub.detect.evaluation.falls import Trial, TrialResult
from hub.detect.evaluation.nested import GRID, Limits, _Candidates, choose, nested_cross_validate

SUBJECTS = ("SA01", "SA02", "SA03", "SA04")


FALL = np.array([np.log(3.0), 0.9, 0.1, 0.9, np.log(0.02), np.log(0.3), 0.5])
ADL = np.array([np.log(1.7), 0.2, 0.1, 0.2, np.log(0.02), np.log(0.1), 0.1])  # up again after


def candidate(rng: np.random.Generator, fall: bool, like_fall: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Features of an impact (a fall lands harder, rotates further and ends lying), and a landing that ends
    lying, `like_fall` of the way from an ADL's features to a fall's."""
    feats = (FALL if fall else ADL) + rng.normal(0, 0.05, 7)
    landing = ADL + like_fall * (FALL - ADL) + rng.normal(0, 0.05, 7)
    return tuple(float(v) for v in feats), (*(float(v) for v in landing), 1.5, 0.0)  # a fast drop, unbraked


def results_for(subject: str, rng: np.random.Generator, got_up: float) -> list[TrialResult]:
    out = []
    for k in range(12):
        for code, variant, fall, like_fall in (("F01", "", True, 1.0), ("F13", "got_up", False, got_up),
                                               ("D13", "", False, 0.3)):
            feats, landing = candidate(rng, fall, like_fall)
            trial = Trial(Path(f"{code}_{subject}_R{k:02d}.txt"), code, subject, variant)
            out.append(TrialResult(trial, 15.0, False, None, 0.0, [feats], [None], None, False, [landing]))
    return out


def test_a_held_out_subject_does_not_move_its_own_constants() -> None:
    rng = np.random.default_rng(0)
    base = {s: results_for(s, rng, 0.0) for s in SUBJECTS}  # got-up landings like lying down
    # SA01's land like falls: the folds that train on SA01 choose other constants, SA01's own cannot.
    changed = {**base, "SA01": results_for("SA01", np.random.default_rng(1), 0.7)}
    _, folds, _ = nested_cross_validate([r for rs in base.values() for r in rs], [], 1.0)
    outcomes, moved, _ = nested_cross_validate([r for rs in changed.values() for r in rs], [], 1.0)
    assert moved["SA01"].limits == folds["SA01"].limits
    assert np.allclose(moved["SA01"].weights, folds["SA01"].weights)
    assert all(moved[s].limits != folds[s].limits for s in SUBJECTS[1:])
    assert set(outcomes) == {r.trial.key for rs in changed.values() for r in rs}


def test_ties_go_to_the_most_conservative_constants() -> None:
    rng = np.random.default_rng(2)
    rs = results_for("SA01", rng, 0.0)
    cands = _Candidates(rs, [])
    nothing = (np.full(len(cands.x), -np.inf), np.full(len(cands.x), -np.inf))  # no event anywhere
    limits, errors = choose(cands, nothing, 1.0)
    assert errors == 24  # every fall (12 plain, 12 got up) missed, whatever the constants
    assert limits == Limits(*(max(v) for v in GRID.values()))


def test_a_recovered_fall_needs_the_wearer_up_again() -> None:
    from hub.detect.evaluation.cross_validation import decide
    from hub.detect.fall.detector import BIAS, WEIGHTS

    w = np.r_[WEIGHTS, BIAS]
    landing = (np.log(3.0), 1.0, 0.1, 1.0, np.log(0.01), np.log(0.3), 0.5, 0.3, 0.0)  # landed lying, hard
    still_down = (np.log(1.6), 0.2, 0.9, 1.0, np.log(0.05), np.log(0.05), 0.0)  # lying at 10 s, no fall score
    up = (*still_down[:3], 0.2, *still_down[4:])  # upright again at 10 s
    assert decide(w, 1.0, still_down, None, landing) is None  # lying down, not a fall got up from
    assert decide(w, 1.0, up, None, landing) == "recovered"
    # A soft impact: up again by the end of its longer watch (rule "got_up") is enough.
    assert decide(w, 1.0, still_down, "got_up", landing) == "recovered"
    # Not up at 10 s, watched 30 s longer: up in that time is a recovered fall (a slow get-up), still down
    # is the countdown; never nothing after a landing that scores as a fall.
    assert decide(w, 1.0, still_down, "still_down", landing) == "alarm"
    soft_landing = (*landing[:3], 1.0, np.log(0.01), np.log(0.3), 0.0, 0.0, 0.5)  # no drop, braked: margin 10
    assert decide(w, 1.0, still_down, "still_down", soft_landing, 40.0) is None  # not a fall's landing
