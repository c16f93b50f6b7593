"""The streaming fall detector: detects a fall trace, ignores daily movement, stays causal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hub.detect.fall.detector import FS, FallDetector, FallParams
from hub.detect.fall.sim import synth_fall_trace


def run(acc: np.ndarray, rate: float, chunk: int, params: FallParams | None = None) -> list:
    det = FallDetector(rate, params)
    out = []
    for i in range(0, len(acc), chunk):
        out += det.push(acc[i:i + chunk])
    return out


@pytest.mark.parametrize("rate", [50, 100, 200])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_fall_trace_is_detected_at_any_rate_and_chunking(rate: int, chunk: int) -> None:
    trace = synth_fall_trace(rate)
    falls = [a for a in run(trace, rate, chunk) if a.fall]
    assert len(falls) == 1
    impact = 3.5 + 0.03  # the synthetic impact peak, seconds from the start
    assert falls[0].impact_t == pytest.approx(impact, abs=0.1)
    assert falls[0].t == pytest.approx(falls[0].impact_t + FallParams().decide_after_s)
    assert falls[0].kind == "fall" and falls[0].descent_s is not None and falls[0].descent_s < 1.5
    assert falls[0].t <= len(trace) / rate  # decided from samples already received


def test_decision_is_causal() -> None:
    """Cutting the stream just before the decision time gives no decision; the prefix decides alone."""
    trace = synth_fall_trace(200)
    full = next(a for a in run(trace, 200, 200) if a.fall)
    cut = round(full.t * 200) - 2
    assert not [a for a in run(trace[:cut], 200, 200) if a.fall]
    prefix = [a for a in run(trace[:cut + 2], 200, 200) if a.fall]
    assert prefix and prefix[0].t == full.t


def daily(seconds: float, rate: int, seed: int = 3) -> np.ndarray:
    """Walking with heel strikes, then sitting down hard on a chair: upright posture throughout."""
    t = np.arange(round(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    step = np.maximum(0, np.sin(2 * math.pi * 1.9 * t)) ** 4
    vertical = 1 + 0.6 * step - 0.2 * np.sin(2 * math.pi * 3.8 * t)
    acc = np.column_stack((0.1 * np.sin(2 * math.pi * 0.95 * t), -vertical, 0.05 * rng.normal(size=len(t))))
    sit = len(t) // 2
    acc[sit:sit + rate // 10, 1] -= 1.5  # a thump on the seat, trunk stays upright
    acc[sit + rate // 10:] = (0.0, -1.0, 0.0)
    return acc


def test_walking_and_sitting_down_is_not_a_fall() -> None:
    assessed = run(daily(20, 200), 200, 50)
    assert assessed, "the thump should at least be assessed"
    assert not [a for a in assessed if a.fall]


def test_gap_resets_history() -> None:
    det = FallDetector(50)
    trace = synth_fall_trace(50)
    assert det.push(trace, t0=1000.0)[0].impact_t == pytest.approx(1003.5, abs=0.1)
    out = det.push(trace, t0=2000.0)  # a reconnect: the stream restarts later, from scratch
    assert [round(a.impact_t) for a in out] == [2004]
    assert det.time == pytest.approx(2000.0 + len(trace) / 50)


def test_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        FallDetector(0)


def test_resampler_averages_onto_50hz() -> None:
    det = FallDetector(200)
    det.push(np.tile([[0.0, -1.0, 0.0]], (400, 1)))
    assert det.time == pytest.approx(400 / 200)
    assert det._base + len(det._mag) == 2 * FS
