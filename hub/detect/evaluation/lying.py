"""Lying down on a bed and staying there, against the falls that end lying (issue 25, round 10):
`python -m hub.detect.evaluation.lying DIR` measures, on every candidate the shipped detector reports
(an alarm or a fall.recovered), what the descent and the landing look like in each group — SisFall's
falls as recorded, the falls around a chair softened ×0.6 (soften.py, an older adult's), and D12/D13
cut where the lying ends and held there (`lay_down_stay`, a nap). docs/detection.md reports the table.

What it measures, and why (the physics each one stands for):

    sink_s     the fastest downward speed of the waist between the last rest before the impact and the
               impact (m/s, `sink_speed`): lying down onto a bed turns the trunk about a hip that stays on
               the mattress; a fall from a seat drops the hip to the floor
    gyro_sink_s  the same with the gravity direction tracked by SisFall's gyroscope (ITG3200) at 200 Hz
               (`gyro_sink_speed`) instead of a running median: what the worn sensor's gyro would add
    drop       the shortfall of |a| below 1 g over the second before the impact (m/s, phases.drop_speed)
    impulse    the impulse above 1 g within +-0.5 s (g*s, phases.impulse)
    contact_s  impulse over the peak's excess above 1 g (s): how long the contact lasts — a mattress is
               softer than a floor, its contact longer
    settle     total variation of |a| 0.1-1 s after the peak, over the peak's excess: a mattress rebounds
    rest_s     from the end of the last rest (a still 0.5 s block) to the impact (s): lying down from
               sitting is one quick turn from rest
"""

from __future__ import annotations

import gzip
import math
import re
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
REST_RATE = 0.35  # rad/s (20 degrees/s): a block turning faster than this is not at rest
REST_LOOKBACK_S = 10.0
AFTER_S = (1.5, 2.0)  # the landing's rest level, this long after the impact
G = 9.81
MEASURES = ("sink_s", "gyro_sink_s", "drop", "impulse", "contact_s", "settle", "rest_s")
GROUPS = ("falls", "falls F13-F15", "soft0.6", "soft0.6 F13-F15", "lay_down_stay D13", "lay_down_stay D12")


def rest_before(mag: np.ndarray, i: int, rate: float = FS, gyro: np.ndarray | None = None) -> int | None:
    """Start of the last still 0.5 s block (std of |a| below `REST_G`; with `gyro`, also not turning faster
    than `REST_RATE` about its median, which a slow start of a turn would) ending at least 0.5 s before
    the impact at i, within `REST_LOOKBACK_S` (None: not at rest in the look-back)."""
    block = round(0.5 * rate)
    first = max(0, i - round(REST_LOOKBACK_S * rate))
    for s in range(i - 2 * block, first - 1, -max(1, round(0.1 * rate))):
        if float(mag[s:s + block].std()) < REST_G and (gyro is None or float(np.linalg.norm(
                gyro[s:s + block] - np.median(gyro[s:s + block], axis=0), axis=1).max()) < REST_RATE):
            return s
    return None


def _sink(acc: np.ndarray, start: int, i: int, gravity: np.ndarray, rate: float) -> float:
    """The fastest downward speed from `start` (a rest block) to the impact at i, `gravity` the unit gravity
    direction per sample from `start` to the end of the landing's rest (`AFTER_S`). The rest level is read
    before and after and blended by how far the trunk has turned: a sensor's gain differs per axis."""
    mag = np.linalg.norm(acc, axis=1)
    block, after = round(0.5 * rate), (i + round(AFTER_S[0] * rate), i + round(AFTER_S[1] * rate))
    seg = acc[start:after[1]]
    along = np.einsum("ij,ij->i", seg, gravity)
    turned = np.degrees(np.arccos(np.clip(gravity @ gravity[0], -1.0, 1.0)))
    total = float(np.degrees(np.arccos(np.clip(seg[-block:].mean(axis=0) @ gravity[0]
                                               / max(float(np.linalg.norm(seg[-block:].mean(axis=0))), 1e-9),
                                               -1.0, 1.0))))
    progress = np.clip(turned / total, 0.0, 1.0) if total > 1.0 else np.zeros(len(seg))
    rest0, rest1 = float(mag[start:start + block].mean()), float(mag[after[0]:after[1]].mean())
    vertical = (along - (rest0 + (rest1 - rest0) * progress))[:i - start] * G
    return max(0.0, -float((np.cumsum(vertical) / rate).min()))


def sink_speed(acc: np.ndarray, i: int) -> float:
    """The fastest downward speed of the waist (m/s, >= 0) from the last rest before the impact at index
    i (50 Hz) to the impact: the acceleration along the gravity direction the sensor reads (soften.posture,
    a 0.5 s running median), less the rest level, integrated. A sensor's gain differs per axis (SisFall's
    ADXL345 reads 1.08 g sitting and 0.90 g on the side), so the rest level is read before (the rest
    block) and after (the landing, `AFTER_S`) and blended by how far the trunk has turned. `math.inf`:
    no rest in the look-back, or the landing not recorded yet."""
    start = rest_before(np.linalg.norm(acc, axis=1), i)
    end = i + round(AFTER_S[1] * FS)
    if start is None or end > len(acc):
        return math.inf
    g = posture(acc[start:end], FS)
    return _sink(acc, start, i, g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9), FS)


def tracked_gravity(acc: np.ndarray, gyro: np.ndarray, start: int, end: int, rate: float) -> np.ndarray:
    """The unit gravity direction in the sensor's frame from `start` (a rest block: its mean, the gyro's
    bias its mean rate) to `end`, turned by the gyro's angular rate (rad/s) sample by sample: unlike a
    running median it does not lag a quick turn."""
    block = round(0.5 * rate)
    g = acc[start:start + block].mean(axis=0)
    g = g / np.linalg.norm(g)
    rates = gyro[start:end] - np.median(gyro[start:start + block], axis=0)  # the gyro's bias, at rest
    out = np.empty((end - start, 3))
    for k, w in enumerate(rates):
        out[k] = g
        g = g - np.cross(w, g) / rate  # a vector fixed in the world turns against the sensor's rotation
        g = g / np.linalg.norm(g)
    return out


def gyro_sink_speed(acc: np.ndarray, gyro: np.ndarray, i: int, rate: float) -> float:
    """`sink_speed` with the gravity direction tracked by the gyroscope (`tracked_gravity`), at the
    recording's rate. The hub reads no gyroscope yet: this measures what one would add."""
    start = rest_before(np.linalg.norm(acc, axis=1), i, rate, gyro)
    end = i + round(AFTER_S[1] * rate)
    if start is None or end > len(acc):
        return math.inf
    return _sink(acc, start, i, tracked_gravity(acc, gyro, start, end, rate), rate)


def read_waist_gyro(path: Path) -> np.ndarray:
    """SisFall's ITG3200 angular rate (columns 4-6, degrees/s = value / 16.384), in rad/s."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii", errors="replace") as f:
        rows = [ln.strip().rstrip(";").strip() for ln in f if ln.strip()]
    return np.radians(np.array([[float(v) for v in re.split(r"[,\s]+", ln)[3:6]] for ln in rows]) / 16.384)


def measures(acc: np.ndarray, i: int) -> dict[str, float]:
    """Every measure of `MEASURES` for the impact at index i of 50 Hz samples `acc`."""
    mag = np.linalg.norm(acc, axis=1)
    excess = max(float(mag[i]) - 1.0, 1e-3)
    after = mag[i + FS // 10:i + FS]
    rest = rest_before(mag, i)
    return {"sink_s": sink_speed(acc, i), "drop": drop_speed(mag, i), "impulse": impulse(mag, i),
            "contact_s": impulse(mag, i) / excess, "settle": float(np.abs(np.diff(after)).sum()) / excess,
            "rest_s": math.inf if rest is None else (i - rest - FS // 2) / FS}


def _group_trials(root: Path) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(group, acceleration, angular rate) of every recording in `GROUPS`. Softening scales the acceleration's
    dynamic part and keeps the posture (soften.py), so the trunk turns as recorded: the gyro is kept."""
    for trial in find_trials(root):
        if not (trial.is_fall and trial.group == "SA") and trial.code not in ("D12", "D13"):
            continue
        try:
            acc, gyro = read_waist_adxl(trial.path), read_waist_gyro(trial.path)
        except (TrialError, ValueError):
            continue
        sitting = trial.code in ("F13", "F14", "F15")
        if trial.is_fall:
            yield "falls", acc, gyro
            if sitting:
                yield "falls F13-F15", acc, gyro
            if trial.code in CHAIR_CODES:
                soft = transformed(acc, "soft0.6")
                yield "soft0.6", soft, gyro
                if sitting:
                    yield "soft0.6 F13-F15", soft, gyro
        else:
            held = stayed(acc)
            if held is not None:
                yield f"lay_down_stay {trial.code}", held, gyro[:len(held)]


def candidate_measures(acc: np.ndarray, gyro: np.ndarray) -> list[dict[str, float]]:
    """The measures of every candidate the shipped detector reports (an alarm or a fall.recovered) in one
    recording (SisFall rate, its angular rate alongside), padded as the evaluation pads it (the gyro with
    stillness); each also carries `alarm` (1 or 0)."""
    stream = padded(acc, FallParams().decide_after_s + STAY_S + PAD_MARGIN_S)
    turning = np.vstack((gyro, np.zeros((len(stream) - len(gyro), 3))))
    detector, chunk = FallDetector(SISFALL_RATE), int(SISFALL_RATE)
    found = [a for k in range(0, len(stream), chunk) for a in detector.push(stream[k:k + chunk])]
    tape = Tape(SISFALL_RATE)
    tape.push(stream)
    samples, mag = tape.samples(), np.linalg.norm(stream, axis=1)
    out = []
    for a in found:
        if (a.fall or a.recovered) and a.kind != "collapse":
            near = round(a.impact_t * SISFALL_RATE)  # the 50 Hz peak's bin: its largest raw sample
            j = near - 4 + int(np.argmax(mag[near - 4:near + 5]))
            out.append({**measures(samples, round(a.impact_t * FS)),
                        "gyro_sink_s": gyro_sink_speed(stream, turning, j, SISFALL_RATE), "alarm": float(a.fall)})
    return out


def lying_ranges(root: Path) -> dict[str, dict[str, tuple[float, ...]]]:
    """Per group of `GROUPS`: the number of reported candidates, and per measure its min, 5th percentile,
    median, 95th percentile and max over them (candidates with no rest before are left out of sink_s
    and rest_s)."""
    values: dict[str, list[dict[str, float]]] = {g: [] for g in GROUPS}
    for group, acc, gyro in _group_trials(root):
        values[group] += candidate_measures(acc, gyro)
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
                print(f"  {name:<12} " + " / ".join(f"{x:.2f}" for x in row[name]) + "  (min/p5/median/p95/max)")
