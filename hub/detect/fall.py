"""Causal fall detector over tri-axial acceleration (g) from a waist-worn sensor.

A fall is an impact, followed by the trunk having turned towards horizontal and lying still. The
detector works at a fixed 50 Hz (input is bin-averaged onto that grid, which is also the anti-alias
filter) and, for every impact candidate, computes six physically meaningful features once the
post-impact window has arrived:

    P          peak |a| of the impact (g)               falls land harder than sitting down
    dang       trunk rotation: posture before vs after  a fall ends in another posture
    pretilt    trunk tilt from vertical before          starting from lying (rolling over in bed)
    posttilt   trunk tilt from vertical after           falls end lying
    still      std of |a| after the impact              a fallen person lies still for a moment
    area       impulse above 1 g around the peak (g*s)  momentum lost at the impact

A logistic score of those (six weights and a bias, fitted with leave-subjects-out cross-validation on
SisFall, see docs/detection.md) above `threshold` is a suspected fall. A decision at time t uses only
samples before t: a candidate peak is known 1 s after it, the decision comes `decide_after_s` after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

FS = 50  # internal sample rate (Hz)
FEATURES = ("log_peak", "rotation", "tilt_before", "tilt_after", "log_still", "log_area")
# Fitted on the development part of SisFall (hub eval fall --cross-validate prints a refit); the
# features are scaled so each weight reads as "logit per natural unit" (angles in quarter turns).
WEIGHTS = (3.73, 10.01, -7.27, 3.94, -0.54, 2.50)
BIAS = -9.40


@dataclass(frozen=True)
class FallParams:
    trigger_g: float = 1.5  # |a| above this may be an impact (walking peaks reach ~1.8 g)
    decide_after_s: float = 3.0  # the post-impact window ends here; the decision is made then
    threshold: float = 1.0  # logistic score (logit) above which a candidate is a suspected fall
    up_axis: tuple[float, float, float] = (0.0, -1.0, 0.0)  # sensor axis pointing up when standing
    refractory_s: float = 10.0  # one fall, one decision: later impacts within this are the same fall
    weights: tuple[float, ...] = WEIGHTS
    bias: float = BIAS


@dataclass(frozen=True)
class Assessment:
    """One impact candidate, scored. `fall` is the decision; `t` is when it was made (stream seconds)."""

    t: float
    impact_t: float
    score: float
    fall: bool
    features: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURES, self.features, strict=True))


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def _angle(u: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, float(_unit(u) @ _unit(v))))))


@dataclass
class _Resampler:
    """Bin-averages a fixed-rate input onto the 50 Hz grid; bins with no input repeat the last value."""

    rate: float
    count: int = 0  # input samples seen since the origin
    next_bin: int = 0  # first output bin not yet emitted
    carry: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    carry_n: int = 0
    last: NDArray[np.float64] = field(default_factory=lambda: np.array([0.0, -1.0, 0.0]))

    def push(self, acc: NDArray[np.float64]) -> NDArray[np.float64]:
        n = len(acc)
        ratio = FS / self.rate
        idx = np.floor(np.arange(self.count, self.count + n) * ratio + 1e-9).astype(np.int64) - self.next_bin
        self.count += n
        complete = math.floor(self.count * ratio + 1e-9) - self.next_bin
        size = max(int(idx[-1]) + 1 if n else 1, complete, 1)
        sums = np.stack([np.bincount(idx, weights=acc[:, j], minlength=size) for j in range(3)], axis=1)
        counts = np.bincount(idx, minlength=size).astype(np.float64)
        sums[0] += self.carry
        counts[0] += self.carry_n
        out = np.empty((complete, 3))
        if complete:
            filled = counts[:complete] > 0
            out[filled] = sums[:complete][filled] / counts[:complete][filled, None]
            if not filled.all():  # input slower than 50 Hz: hold the previous value
                prev = self.last
                for k in range(complete):
                    if filled[k]:
                        prev = out[k]
                    else:
                        out[k] = prev
            self.last = out[-1].copy()
        self.carry = sums[complete] if size > complete else np.zeros(3)
        self.carry_n = int(counts[complete]) if size > complete else 0
        self.next_bin += complete
        return out


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
        self._history = 3 * FS + self._decide_n + FS  # ref window start .. decision, plus margin
        self._reset(t0)

    def _reset(self, t0: float) -> None:
        self.origin = t0
        self._rs = _Resampler(self.rate)
        self._acc = np.zeros((0, 3))
        self._mag = np.zeros(0)
        self._base = 0  # global 50 Hz index of _acc[0]
        self._scan = 0  # next global index to test as a candidate peak
        self._pending: list[int] = []
        self._last_fall = -10**9

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
                    self._pending.append(i + base)
            self._scan = last + 1
        out: list[Assessment] = []
        while self._pending and self._pending[0] + self._decide_n <= end:  # oldest first
            out.append(self._assess(self._pending.pop(0)))
        return out

    def features_at(self, p: int) -> tuple[float, ...]:
        """Features of the candidate at global 50 Hz index p (needs p + decide window in the buffer)."""
        a, m = self._acc, self._mag
        i = p - self._base
        r1 = max(0, i - 3 * FS // 2)
        r0 = max(0, i - 5 * FS // 2)
        ref = a[r0:r1].mean(axis=0) if r1 > r0 else a[max(0, i - FS)]
        post = a[i + FS:i + self._decide_n]
        post_mean = post.mean(axis=0)
        still = float(m[i + FS:i + self._decide_n].std())
        around = m[max(0, i - FS // 2):i + FS // 2]
        area = float(np.maximum(around - 1.0, 0.0).sum()) / FS
        return (math.log(float(m[i])), _angle(ref, post_mean) / 90.0, _angle(ref, self.up) / 90.0,
                _angle(post_mean, self.up) / 90.0, math.log(still + 0.01), math.log(max(area, 1e-3)))

    def _assess(self, p: int) -> Assessment:
        feats = self.features_at(p)
        score = float(self._w @ np.asarray(feats)) + self.params.bias
        impact_t = self.origin + p / FS
        fall = score > self.params.threshold and p - self._last_fall > self.params.refractory_s * FS
        if fall:
            self._last_fall = p
        return Assessment(t=self.origin + (p + self._decide_n) / FS, impact_t=impact_t, score=score,
                          fall=fall, features=feats)
