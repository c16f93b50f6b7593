"""Leave-one-subject-out cross-validation for `hub eval fall --cross-validate`: the score's weights
are refitted without each subject in turn and that subject's trials (and wear-day stream) are scored
with them; the figures docs/detection.md reports. Each candidate is decided as the detector
decides it (`decide`): alarm, recovered fall, or nothing. `hub eval fall --cross-validate` nests this:
hub/detect/evaluation/nested.py chooses the landing's constants without the held-out subject as well.
"""

from __future__ import annotations

import numpy as np

from hub.detect.evaluation.falls import Outcome, TrialResult
from hub.detect.evaluation.watch import Watch
from hub.detect.fall.decision import Rule, outcome, scored
from hub.detect.fall.detector import FallParams
from hub.detect.fall.phases import could_have_landed, landed_fall


def decide(w: np.ndarray, threshold: float, feats: tuple[float, ...], rule: Rule,
           landing: tuple[float, ...] | None, margin: float = FallParams.recovered_margin,
           dropped_margin: float = FallParams.dropped_margin, drop_ms: float = FallParams.drop_ms,
           impact_gs: float = FallParams.impact_gs, *, watch: Watch | None = None) -> Outcome:
    """One candidate under weights `w` (bias last), as the detector decides: an alarm (score above the
    threshold, not moving about after, not `unchanged`, not vetoed by the "reseated" or "got_up" rule; or
    the from-lying or hard-drop rule), else a recovered fall (the landing alone scores `margin` above the
    threshold, `dropped_margin` after a drop of `drop_ms` or an unbraked impulse of `impact_gs`, ends lying
    and not moving about; or follows a hard drop) when the wearer is up again at the end of the post phase
    (`up_again`) or within the longer watch (rule "got_up": a gentle impact, or a landing that may be a
    fall and was not up at 10 s), an alarm when still down at the end of that watch (rule "still_down"),
    else nothing. The detector's own tables (hub/detect/fall/decision.py). With `watch`
    (hub/detect/evaluation/watch.py) the 10 s decision is made under these weights, and a candidate they
    leave waiting is decided by what the longer watch saw, as a detector with these weights would; without
    it the recorded rule decides, every candidate final (it was never left waiting)."""
    score = float(np.asarray(feats) @ w[:-1] + w[-1])

    def landing_fall() -> bool:
        return landing is not None and landed_fall(
            landing, w[:-1], float(w[-1]), threshold + margin, threshold + dropped_margin, drop_ms, impact_gs)
    if watch is None or watch[0]:
        return outcome(scored(score, threshold, feats, rule), rule, feats, True, lambda: False, landing_fall)
    _, first, later = watch
    found = outcome(scored(score, threshold, feats, first), first, feats, False,
                    lambda: could_have_landed(landing), landing_fall)
    if found != "wait":
        return found
    return outcome(scored(score, threshold, feats, later), later, feats, True, lambda: False, landing_fall)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.01, pos_weight: float = 5.0) -> np.ndarray:
    """L2-regularised logistic regression by Newton steps; returns weights with the bias last.

    Falls are weighted up (`pos_weight`): there is one positive per fall trial and many negatives.
    """
    xb = np.column_stack((x, np.ones(len(x))))
    w = np.zeros(xb.shape[1])
    sw = np.where(y > 0, pos_weight, 1.0)
    reg = np.r_[np.full(x.shape[1], l2), 0.0]
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (sw * (p - y)) + reg * w
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def training_set(results: list[TrialResult]) -> tuple[np.ndarray, np.ndarray]:
    """Positives: the hardest-hitting candidate of each fall trial; negatives: every ADL candidate.
    Spliced "got up" and softened trials are evaluation only, never trained on."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for r in results:
        if not r.candidates or r.trial.variant:
            continue
        c = np.asarray(r.candidates)
        if r.trial.is_fall:
            xs.append(c[[int(np.argmax(c[:, 0]))]])
            ys.append(np.ones(1))
        else:
            xs.append(c)
            ys.append(np.zeros(len(c)))
    return np.vstack(xs), np.concatenate(ys)


def cross_validate(results: list[TrialResult], threshold: float) -> tuple[dict[str, Outcome], np.ndarray]:
    outcomes, weights, _ = cross_validate_weights(results, threshold)
    return outcomes, weights


def cross_validate_weights(results: list[TrialResult], threshold: float) -> tuple[
        dict[str, Outcome], np.ndarray, dict[str, np.ndarray]]:
    """Leave-one-subject-out: each subject's trials are scored by weights fitted without them (the
    from-lying rule has no fitted part and applies as it is). Outcomes by `Trial.key`."""
    outcomes: dict[str, Outcome] = {}
    per_subject: dict[str, np.ndarray] = {}
    for subject in sorted({r.trial.subject for r in results}):
        train = [r for r in results if r.trial.subject != subject]
        w = per_subject[subject] = fit_logistic(*training_set(train))
        for r in results:
            if r.trial.subject == subject:
                found = {decide(w, threshold, tuple(c), rule, landing, watch=watch)
                         for c, rule, landing, watch in r.decided()}
                outcomes[r.trial.key] = "alarm" if "alarm" in found else "recovered" if "recovered" in found else None
    return outcomes, fit_logistic(*training_set(results)), per_subject


