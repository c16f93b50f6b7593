"""Causal fall detector over tri-axial acceleration (g) from a waist-worn sensor: a phase model.

A fall is pre-fall activity, a descent, an impact and a post-fall phase. For every impact candidate
(a local peak of |a| above `trigger_g`) the detector waits for the post-fall phase (`decide_after_s`,
10 s by default; the spoken countdown that follows absorbs the delay) and computes:

    log_peak     peak |a| of the impact (g)                   falls land harder than sitting down
    rotation     trunk rotation, pre-fall -> post-fall,       a fall ends in another posture; capped
                 in quarter turns, capped at 90 degrees       (rolling over extrapolates past training);
                 from lying: the change of tilt only          turning over in bed is not a fall
    tilt_before  trunk tilt of the pre-fall posture (<= 90)   starting from lying (turning in bed)
    tilt_after   trunk tilt at the end of the post phase      a fallen person lies; one who got up doesn't
                 (<= 90: past horizontal is still lying)
    log_still    std of |a| over the post phase               lying still vs moving about
    log_area     impulse above 1 g around the peak (g*s)      momentum lost at the impact
    dip          1 - lowest |a| in the second before (g)      the descent: a fall drops (part free
                                                               fall); lying down is lowered under control

The pre-fall posture is the last upright period (a 0.5 s block with the trunk within `UPRIGHT_DEG`
of vertical) in the `LOOKBACK_S` before the impact, not a fixed window: a slow slump out of a chair
tilts the trunk over 2-3 s, and a fixed window just before the impact would already see the tilt,
call it "was lying" and find little rotation. The descent must lead into the impact: lying for
`SETTLED_S` right before it means the person was already down (lying down on a bed, then turning
over), and that lying posture is the one before. With no upright block in the look-back the person
was already lying (or reclined) and the earliest block is the posture before.

A logistic score of the seven (weights fitted with leave-one-subject-out cross-validation on SisFall,
docs/detection.md) above `threshold`, unless the post phase shows walking or running about (got up
again: std of |a| above `MOVING_G`), is a suspected fall of kind "fall", or "to_seated" when the
post phase ends reclined rather than lying (sliding down a wall). A fall that starts lying (out of
bed) scores low by design (turning over in bed must not alarm); it is caught by its own rule: no
upright period, a drop and a hard impact (`from_lying_g`), then lying still — kind "from_lying". A decision at
time t uses only samples before t.

A candidate that is not a suspected fall but whose landing (`LANDING_S` after the impact, same features
and weights, measured from the last upright or least tilted posture even if the trunk turned on the
way down) ends lying and scores `recovered_margin` above the threshold (`dropped_margin` after a fast
drop of the waist), or follows a hard drop (`phases.hard_drop`: a fast drop into a turned, reclined
posture), is a fall the wearer got up from (`recovered`: reported, not alarmed) when the wearer is up
again at the end of the post phase (`phases.up_again`); lying still again for `COLLAPSE_S` within
`REWATCH_S` after it is a suspected fall of kind "collapse". A hard drop after which the wearer lies
still is a suspected fall whatever the score (rule "hard_drop"). A landing that may be a fall whose post
phase ends neither up again nor a suspected fall (a slow get-up, reclined at 10 s) is watched `STAY_S`
longer, as a gentle impact is: up again in it (rule "got_up") -> recovered, still down ("still_down") ->
suspected, if the landing scores as a fall. No landing that scores as a fall ends in nothing.
The rules and the outcome are two small tables in hub/detect/fall/decision.py, shared with the evaluation;
the landing is computed once per candidate, and kept while it is watched longer.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from hub.detect.fall.collapse import CollapseWatch
from hub.detect.fall.decision import Case, Rule, outcome, rule_of, scored
from hub.detect.fall.phases import (
    DROP_MS,
    FEATURES,
    IMPACT_GS,
    LANDING_S,
    LOOKBACK_S,
    SEATED_MAX_DEG,
    STAY_S,
    could_have_landed,
    drop_speed,
    features,
    gentle,
    impulse,
    landed_fall,
    post_window,
    reseated,
    stayed_down,
)
from hub.detect.fall.resample import FS, _Resampler

# Fitted on the development part of SisFall (hub eval fall --cross-validate prints a refit); the
# features are scaled so each weight reads as "logit per natural unit" (angles in quarter turns).
WEIGHTS = (7.65, 17.76, 0.1, 23.19, -1.8, 6.52, 1.07)
BIAS = -28.5
Kind = Literal["fall", "to_seated", "from_lying", "collapse"]


@dataclass(frozen=True)
class FallParams:
    trigger_g: float = 1.5  # |a| above this may be an impact (walking peaks reach ~1.8 g)
    decide_after_s: float = 10.0  # the post-fall phase ends here; the decision is made then
    threshold: float = 1.0  # logistic score (logit) above which a candidate is a suspected fall
    from_lying_g: float = 3.5  # no upright period before: an impact this hard, then lying still
    up_axis: tuple[float, float, float] = (0.0, -1.0, 0.0)  # sensor axis pointing up when standing
    refractory_s: float = 10.0  # one fall, one decision: later impacts within this are the same fall
    weights: tuple[float, ...] = WEIGHTS
    bias: float = BIAS
    # A fall judged on its landing alone (the wearer got up) must clear the threshold by this much: lying
    # down quickly onto a bed lands much like a soft fall, and the post phase that tells them apart for
    # an alarm is the one the wearer got up in.
    recovered_margin: float = 12.0
    # ...but only by this much when the waist dropped fast before the impact (`DROP_MS`): lying down onto
    # a bed turns the trunk about the hip, which stays at seat height; a fall drops it to the floor.
    # Both margins and the drop are what hub/detect/evaluation/nested.py chooses on all the development
    # subjects (the one-standard-error rule); chosen again without each subject for the figures reported.
    dropped_margin: float = 2.0
    drop_ms: float = DROP_MS  # the drop (m/s) that lowers the margin to `dropped_margin`
    impact_gs: float = IMPACT_GS  # ...as does an impact this hard (impulse, g*s: the speed lost at contact)
    explain: bool = False  # evaluation: every assessment carries its landing features (cross-validation)


@dataclass(frozen=True)
class Assessment:
    """One impact candidate, scored. `fall` is the decision; `t` is when it was made (stream seconds)."""

    t: float
    impact_t: float
    score: float
    fall: bool
    features: tuple[float, ...]
    kind: Kind = "fall"
    descent_s: float | None = None  # end of the last upright period -> impact (None: none seen)
    recovered: bool = False  # a fall the wearer got up from within the post phase: report, no alarm
    landing: tuple[float, ...] | None = None  # with FallParams.explain: features over the landing only
    drop_ms: float = 0.0  # how fast the waist dropped before the impact (m/s, phases.drop_speed)
    # A rule that decides whatever the score: "from_lying" (an alarm), "reseated" (no alarm: back in
    # the seat the wearer had left), "got_up" (no alarm: a gentle impact, and the wearer did not stay
    # down for `STAY_S` after the post phase), "hard_drop" (an alarm: a drop of `HARD_DROP_MS` into a
    # turned, reclined posture, lying still there), "still_down" (an alarm if the landing scores as a
    # fall: watched `STAY_S` longer, gentle or not up again at 10 s, and never up in that time), or None.
    rule: Rule = None

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURES, self.features, strict=True))


class FallDetector:
    """Streaming detector: `push()` chunks of (N, 3) acceleration in g, get the assessments made."""

    def __init__(self, rate_hz: float, params: FallParams | None = None, t0: float = 0.0) -> None:
        if not rate_hz > 0:
            raise ValueError(f"sample rate must be positive, got {rate_hz!r}")
        self.rate = float(rate_hz)
        self.params = params or FallParams()
        self.up = np.asarray(self.params.up_axis, dtype=np.float64)
        self._w = np.asarray(self.params.weights, dtype=np.float64)
        self._decide_n = round(self.params.decide_after_s * FS)
        self._stay_n = round(STAY_S * FS)  # a gentle impact is decided this much later
        # look-back .. decision (.. a gentle impact's stay), plus margin
        self._history = round(LOOKBACK_S * FS) + self._decide_n + self._stay_n + FS
        self._reset(t0)

    def _reset(self, t0: float) -> None:
        self.origin = t0
        self._rs = _Resampler(self.rate)
        self._acc = np.zeros((0, 3))
        self._mag = np.zeros(0)
        self._base = 0  # global 50 Hz index of _acc[0]
        self._scan = 0  # next global index to test as a candidate peak
        self._pending: list[tuple[int, int, bool]] = []  # (global index when due, impact's, watched longer)
        self._last_fall = -10**9
        self._last_event = -10**9  # the last recovered fall
        self._landed: dict[int, tuple[float, ...] | None] = {}  # landings of the candidates not yet decided
        self._watch = CollapseWatch(self.up)  # after a recovered fall

    @property
    def time(self) -> float:
        """Stream time (s) just after the last complete 50 Hz sample."""
        return self.origin + (self._base + len(self._mag)) / FS

    def push(self, acc: ArrayLike, t0: float | None = None) -> list[Assessment]:
        """Feed samples at the configured rate. Give `t0` (stream seconds of acc[0]) after a gap."""
        a = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        if t0 is not None:
            expected = self.origin + self._rs.count / self.rate
            if abs(t0 - expected) > 1.5 / self.rate:
                self._reset(t0)  # a gap (reconnect): history before it says nothing about now
        if not len(a):
            return []
        new = self._rs.push(a)
        if len(new):
            self._acc = np.concatenate((self._acc, new))
            self._mag = np.concatenate((self._mag, np.sqrt(np.einsum("ij,ij->i", new, new))))
        out = self._find_candidates()
        if self._watch.active:
            collapse = self._collapse()
            if collapse is not None:
                out.append(collapse)
        if len(self._mag) > 2 * self._history:
            drop = len(self._mag) - self._history
            self._acc, self._mag = self._acc[drop:], self._mag[drop:]
            self._base += drop
        return out

    def _find_candidates(self) -> list[Assessment]:
        m, base, end = self._mag, self._base, self._base + len(self._mag)
        last = end - 1 - FS  # a peak is known once 1 s after it has arrived
        if last >= self._scan:
            lo = self._scan - base
            seg = m[lo:last - base + 1]
            hits = np.flatnonzero(seg >= self.params.trigger_g) + lo
            for i in hits.tolist():
                if (i > 0 and m[i] <= m[i - 1]) or m[i] < m[i + 1]:
                    continue  # not a local maximum: a cheap pre-filter (jogging crosses 1.5 g often)
                w0 = max(0, i - FS)
                if int(np.argmax(m[w0:i + FS + 1])) + w0 == i:
                    soft = gentle(impulse(m, i))  # decided `STAY_S` later, on whether the wearer stayed down
                    due = i + base + self._decide_n + (self._stay_n if soft else 0)
                    bisect.insort(self._pending, (due, i + base, soft))
            self._scan = last + 1
        out: list[Assessment] = []
        while self._pending and self._pending[0][0] <= end:  # first due first
            _, p, late = self._pending.pop(0)
            found = self._assess(p, late)
            if found is None:  # neither up again nor a suspected fall at 10 s: watch `STAY_S` longer
                bisect.insort(self._pending, (p + self._decide_n + self._stay_n, p, True))
            else:
                out.append(found)
        return out

    def phases(self, p: int, landing: bool = False) -> tuple[tuple[float, ...], float | None]:
        """Features of the candidate at global 50 Hz index p (needs p + decide window in the buffer), and
        the descent time (s from the end of the last upright period to the impact; None: none seen).
        `landing`: the post phase is only the landing (`LANDING_S` after the impact), where a fall ends
        on the floor even if the wearer gets up later."""
        i = p - self._base
        post = (i + round(LANDING_S[0] * FS), i + round(LANDING_S[1] * FS)) if landing else self._post(i)
        return features(self._acc, self._mag, self.up, i, post, landing)

    def _post(self, i: int) -> tuple[int, int]:
        """The post-fall posture's window (buffer indices) for the impact at buffer index i."""
        return post_window(i, self._decide_n)

    def features_at(self, p: int) -> tuple[float, ...]:
        return self.phases(p)[0]

    def _assess(self, p: int, late: bool) -> Assessment | None:
        """One decision (hub/detect/fall/decision.py): the rule that holds, then the outcome; None when
        the candidate is watched `STAY_S` longer (its landing kept for then)."""
        feats, descent = self.phases(p)
        i, end, refractory = p - self._base, p - self._base + self._decide_n, self.params.refractory_s * FS
        score, drop = float(self._w @ np.asarray(feats)) + self.params.bias, drop_speed(self._mag, i)
        down = late and stayed_down(self._acc, self._mag, self.up, end, end + self._stay_n)
        rule = rule_of(Case(feats, descent, drop, late, down, self.params.from_lying_g,
                            lambda: reseated(self._acc, self.up, i, self._post(i)),
                            lambda: could_have_landed(self._landing(p))))
        by_score = scored(score, self.params.threshold, feats, rule)
        quiet = min(p - self._last_fall, p - self._last_event) > refractory  # no fall or recovered fall just before
        if self.params.explain:
            self._landing(p)

        def landing_fall() -> bool:
            landed = self._landing(p) if quiet else None
            return landed is not None and landed_fall(
                landed, self._w, self.params.bias, self.params.threshold + self.params.recovered_margin,
                self.params.threshold + self.params.dropped_margin, self.params.drop_ms, self.params.impact_gs)
        found = outcome(by_score, rule, feats, late, lambda: could_have_landed(self._landing(p)), landing_fall)
        if found == "wait":
            return None  # neither up nor a suspected fall: decided `STAY_S` later (`_find_candidates`)
        landed = self._landed.pop(p, None)
        if found == "alarm" and p - self._last_fall <= refractory:
            found = None  # the same fall as the last one
        if found == "alarm":
            self._last_fall = p
        elif found == "recovered":
            self._last_event = p
            self._watch.start(p + self._decide_n)
        kind: Kind = ("from_lying" if rule == "from_lying" and not by_score
                      else "to_seated" if feats[3] * 90.0 < SEATED_MAX_DEG else "fall")
        return Assessment(t=self.origin + (p + self._decide_n + (self._stay_n if late else 0)) / FS,
                          impact_t=self.origin + p / FS, score=score, fall=found == "alarm", features=feats,
                          kind=kind if found == "alarm" else "fall", descent_s=descent,
                          recovered=found == "recovered", landing=landed, drop_ms=drop, rule=rule)

    def _landing(self, p: int) -> tuple[float, ...] | None:
        """The landing's features, computed once per candidate (kept while it is watched longer); None when
        the wearer lay still before the impact (already down)."""
        if p not in self._landed:
            landed, descent = self.phases(p, landing=True)
            self._landed[p] = landed if descent is not None else None
        return self._landed[p]

    def _collapse(self) -> Assessment | None:
        """After a recovered fall: lying still again for `COLLAPSE_S` (hub/detect/fall/collapse.py)."""
        seen = self._watch.scan(self._acc, self._mag, self._base)
        if seen is None:
            return None
        at, blocks, tilt, std = seen
        self._last_fall = at
        feats = (0.0, 0.0, 0.0, tilt / 90.0, math.log(std + 0.01), 0.0, 0.0)
        return Assessment(t=self.origin + at / FS, impact_t=self.origin + (at - blocks * (FS // 2)) / FS,
                          score=self.params.threshold, fall=True, features=feats, kind="collapse")
