"""Lying down on a bed and staying there, against the falls that end lying (issue 25, round 10):
`python -m hub.detect.evaluation.lying DIR` measures, on every candidate the shipped detector reports
(an alarm or a fall.recovered), what the descent and the landing look like in each group — SisFall's
falls as recorded, the falls around a chair softened ×0.6 (soften.py, an older adult's), and D12/D13
cut where the lying ends and held there (`lay_down_stay`, a nap). docs/detection.md reports the table.

What it measures, and why (the physics each one stands for):

    sink_s     the fastest downward speed of the waist between the last rest before the impact and the
               impact (m/s, `sink_speed`): lying down onto a bed turns the trunk about a hip that stays on
               the mattress; a fall from a seat drops the hip to the floor
    drop       the shortfall of |a| below 1 g over the second before the impact (m/s, phases.drop_speed)
    impulse    the impulse above 1 g within +-0.5 s (g*s, phases.impulse)
    contact_s  impulse over the peak's excess above 1 g (s): how long the contact lasts — a mattress is
               softer than a floor, its contact longer
    settle     total variation of |a| 0.1-1 s after the peak, over the peak's excess: a mattress rebounds
    rest_s     from the end of the last rest (a still 0.5 s block) to the impact (s): lying down from
               sitting is one quick turn from rest
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hub.detect.evaluation.falls import (
    PAD_MARGIN_S,
    SISFALL_RATE,
    TrialError,
    find_trials,
    padded,
    read_waist_adxl,
)
from hub.detect.evaluation.soften import CHAIR_CODES, posture, stayed, transformed
from hub.detect.evaluation.watch import Tape
from hub.detect.fall.detector import FallDetector, FallParams
from hub.detect.fall.phases import STAY_S, drop_speed, impulse
from hub.detect.fall.resample import FS

REST_G = 0.03  # std of |a| over a 0.5 s block below this: at rest (sitting still)
REST_LOOKBACK_S = 10.0
AFTER_S = (1.5, 2.0)  # the landing's rest level, this long after the impact
G = 9.81
MEASURES = ("sink_s", "drop", "impulse", "contact_s", "settle", "rest_s")
GROUPS = ("falls", "falls F13-F15", "soft0.6", "soft0.6 F13-F15", "lay_down_stay D13", "lay_down_stay D12")


def rest_before(mag: np.ndarray, i: int) -> int | None:
    """Start of the last still 0.5 s block (std of |a| below `REST_G`) ending at least 0.5 s before the
    impact at i, within `REST_LOOKBACK_S` (None: not at rest in the look-back)."""
    block = FS // 2
    first = max(0, i - round(REST_LOOKBACK_S * FS))
    for s in range(i - 2 * block, first - 1, -FS // 10):
        if float(mag[s:s + block].std()) < REST_G:
            return s
    return None


def sink_speed(acc: np.ndarray, i: int) -> float:
    """The fastest downward speed of the waist (m/s, >= 0) from the last rest before the impact at index
    i (50 Hz) to the impact: the acceleration along the gravity direction the sensor reads (soften.posture,
    a 0.5 s running median), less the rest level, integrated. A sensor's gain differs per axis (SisFall's
    ADXL345 reads 1.08 g sitting and 0.90 g on the side), so the rest level is read before (the rest
    block) and after (the landing, `AFTER_S`) and blended by how far the trunk has turned. `math.inf`:
    no rest in the look-back, or the landing not recorded yet."""
    mag = np.linalg.norm(acc, axis=1)
    start = rest_before(mag, i)
    after = (i + round(AFTER_S[0] * FS), i + round(AFTER_S[1] * FS))
    if start is None or after[1] > len(acc):
        return math.inf
    seg = acc[start:after[1]]
    g = posture(seg, FS)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
    along = np.einsum("ij,ij->i", seg, g)
    turned = np.degrees(np.arccos(np.clip(g @ g[0], -1.0, 1.0)))
    total = float(turned[-1])
    progress = np.clip(turned / total, 0.0, 1.0) if total > 1.0 else np.zeros(len(seg))
    block = FS // 2
    rest0, rest1 = float(mag[start:start + block].mean()), float(mag[after[0]:after[1]].mean())
    vertical = (along - (rest0 + (rest1 - rest0) * progress))[:i - start] * G
    return max(0.0, -float((np.cumsum(vertical) / FS).min()))


def measures(acc: np.ndarray, i: int) -> dict[str, float]:
    """Every measure of `MEASURES` for the impact at index i of 50 Hz samples `acc`."""
    mag = np.linalg.norm(acc, axis=1)
    excess = max(float(mag[i]) - 1.0, 1e-3)
    after = mag[i + FS // 10:i + FS]
    rest = rest_before(mag, i)
    return {"sink_s": sink_speed(acc, i), "drop": drop_speed(mag, i), "impulse": impulse(mag, i),
            "contact_s": impulse(mag, i) / excess, "settle": float(np.abs(np.diff(after)).sum()) / excess,
            "rest_s": math.inf if rest is None else (i - rest - FS // 2) / FS}


def _group_trials(root: Path) -> Iterator[tuple[str, np.ndarray]]:
    for trial in find_trials(root):
        if not (trial.is_fall and trial.group == "SA") and trial.code not in ("D12", "D13"):
            continue
        try:
            acc = read_waist_adxl(trial.path)
        except TrialError:
            continue
        sitting = trial.code in ("F13", "F14", "F15")
        if trial.is_fall:
            yield "falls", acc
            if sitting:
                yield "falls F13-F15", acc
            if trial.code in CHAIR_CODES:
                soft = transformed(acc, "soft0.6")
                yield "soft0.6", soft
                if sitting:
                    yield "soft0.6 F13-F15", soft
        else:
            held = stayed(acc)
            if held is not None:
                yield f"lay_down_stay {trial.code}", held


def candidate_measures(acc: np.ndarray) -> list[dict[str, float]]:
    """The measures of every candidate the shipped detector reports (an alarm or a fall.recovered) in one
    recording (SisFall rate), padded as the evaluation pads it; each also carries `alarm` (1 or 0)."""
    stream = padded(acc, FallParams().decide_after_s + STAY_S + PAD_MARGIN_S)
    detector, chunk = FallDetector(SISFALL_RATE), int(SISFALL_RATE)
    found = [a for k in range(0, len(stream), chunk) for a in detector.push(stream[k:k + chunk])]
    tape = Tape(SISFALL_RATE)
    tape.push(stream)
    samples = tape.samples()
    return [{**measures(samples, round(a.impact_t * FS)), "alarm": float(a.fall)}
            for a in found if (a.fall or a.recovered) and a.kind != "collapse"]


def lying_ranges(root: Path) -> dict[str, dict[str, tuple[float, ...]]]:
    """Per group of `GROUPS`: the number of reported candidates, and per measure its min, 5th percentile,
    median, 95th percentile and max over them (candidates with no rest before are left out of sink_s
    and rest_s)."""
    values: dict[str, list[dict[str, float]]] = {g: [] for g in GROUPS}
    for group, acc in _group_trials(root):
        values[group] += candidate_measures(acc)
    table: dict[str, dict[str, tuple[float, ...]]] = {}
    for group, rows in values.items():
        table[group] = {"n": (float(len(rows)),)}
        for name in MEASURES:
            v = np.array([r[name] for r in rows if math.isfinite(r[name])])
            if len(v):
                table[group][name] = (float(v.min()), *map(float, np.percentile(v, [5, 50, 95])), float(v.max()))
    return table


if __name__ == "__main__":
    for group, row in lying_ranges(Path(sys.argv[1])).items():
        print(f"{group} ({int(row['n'][0])} candidates reported)")
        for name in MEASURES:
            if name in row:
                print(f"  {name:<10} " + " / ".join(f"{x:.2f}" for x in row[name]) + "  (min/p5/median/p95/max)")
