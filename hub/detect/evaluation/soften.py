"""Older adults' slower and softer falls, for `hub eval fall --soften`: each development fall (young
adults, SisFall SA01-SA12) made slower and/or softer, the way an older adult's fall around a chair looks.

Why. The development data has falls only from young adults; on the held-out older adult (SisFall's
SE06, the one older subject who simulated falls) every missed fall was a slow fall around a chair (F08,
F12, F13: issue 25). Older people move more slowly and fall with less energy: they brace, lower
themselves part of the way, and fall from less height. SisFall (Sucerquia et al., Sensors 2017,
17(1):198; its readme) says SE06 is a judo expert, the one older subject allowed to simulate falls: an
older body falling as someone trained to fall does, braced and controlled, not harder.
The development data says which of the two matters on the activities both age groups did
(`older_vs_young`; `python -m hub.detect.evaluation.soften DIR`, docs/detection.md, round 9): where the
body lands in a seat (sitting down quickly, D08 and D10; collapsing into a chair, D11) SE01-SE08's largest
dynamic acceleration is 0.62-0.72 of SA01-SA12's — softer, as braced — while their trunk does not turn
more slowly (SE/SA 0.78-1.51 across D07-D17). So soft ×0.6 is the one transform the data supports, ×0.4
a harsher one; slowing is the issue's hypothesis ("older people fall slower") and is reported, not relied on:

- **slow ×k** (`slowed`): the same posture trajectory played k times slower over the descent (the
  `DESCENT_S` before the impact's rise). The acceleration is split into the posture (the gravity
  vector as the sensor reads it, a 0.5 s running median per axis, `posture`) and the dynamic residual;
  both are resampled onto the slower time, and the residual scales as a path taken k times slower does
  (velocities /k, accelerations /k^2). The impact itself is not stretched: contact with the floor
  lasts as long as the body's and floor's stiffness make it; it arrives k times slower, so its
  dynamic part (and the momentum lost, the impulse) scale by 1/k. The motion after it, the person's
  own, is kept, as is everything before the descent.
- **soft ×s** (`softened`): the dynamic residual scaled by s from `SOFT_BEFORE_S` before the impact to
  `SOFT_AFTER_S` after it, the posture kept: a braced landing (hands on the chair, knees bent) or a
  fall from a seat's height rather than standing loses less speed in the second before the impact
  (the free-fall dip is shallower, the drop speed s times lower) and hits s times softer.

Both ramp in and out over `RAMP_S` so no step is added. `TRANSFORMS` are the variants reported
(`VARIANTS` names them); each is applied to the fall trials of `CHAIR_CODES` (falls getting up,
sitting down and from sitting, F08-F15) or to every fall. The softened trials are evaluation only:
never trained on, never in the nested selection of the landing's constants.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hub.detect.evaluation.falls import (
    SISFALL_RATE,
    Outcome,
    Trial,
    TrialError,
    TrialResult,
    find_trials,
    read_waist_adxl,
)
from hub.detect.fall.phases import LYING_DEG

POSTURE_S = 0.5  # the running median that reads the gravity vector (longer than an impact, shorter than a turn)
DESCENT_S = 2.5  # slow: the descent stretched, this long before the impact's rise (a slump from a chair: 2-3 s)
RISE_S = 0.1  # ...which begins this long before the peak
IMPACT_S = 0.5  # slow: from the peak, the impact's dynamic part scales by 1/k for this long
SOFT_BEFORE_S, SOFT_AFTER_S = 1.0, 0.5  # soft: the second before the impact (the descent's end) and the impact
RAMP_S = 0.25
CHAIR_CODES = ("F08", "F09", "F10", "F11", "F12", "F13", "F14", "F15")
# (slow factor k, soft factor s): k = 1 / s = 1 leave that part unchanged
TRANSFORMS: dict[str, tuple[float, float]] = {
    "slow1.3": (1.3, 1.0), "slow1.6": (1.6, 1.0), "soft0.6": (1.0, 0.6), "soft0.4": (1.0, 0.4),
    "slow1.3+soft0.6": (1.3, 0.6)}
# The ADL these must not be confused with: lying down on a bed (slowly, D12; quickly, D13) and staying
# there (a nap), where SisFall's trials sit up again after a moment: each cut where the lying ends (`stayed`).
STAYED = "lay_down_stay"
STAYED_CODES = ("D12", "D13")
VARIANTS = (*(f"soften:{name}" for name in TRANSFORMS), f"soften:{STAYED}")


def posture(acc: np.ndarray, rate: float = SISFALL_RATE) -> np.ndarray:
    """The gravity vector as the sensor reads it: a centred running median of each axis over
    `POSTURE_S` (an impact or a step is shorter and does not move it), at the trial's own 1 g (the
    median |a|: a sensor's gain error stays in the posture, not in the residual)."""
    half = round(POSTURE_S * rate) // 2
    padded = np.pad(acc, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=0)
    med = np.median(windows, axis=-1)
    norm = np.linalg.norm(med, axis=1, keepdims=True)
    one_g = float(np.median(np.linalg.norm(acc, axis=1)))
    return np.divide(med, norm, out=np.zeros_like(med), where=norm > 1e-6) * one_g


def _profile(n: int, knots: list[tuple[int, float]]) -> np.ndarray:
    """A factor per output sample, linear between (index, factor) knots and 1 beyond the first and last."""
    xs, fs = zip(*knots, strict=True)
    return np.interp(np.arange(n, dtype=np.float64), xs, fs, left=1.0, right=1.0)


def impact_index(acc: np.ndarray) -> int:
    """The fall's impact: the largest |a| of the recording (as splice.py takes it)."""
    return int(np.argmax(np.linalg.norm(acc, axis=1)))


def softened(acc: np.ndarray, s: float, rate: float = SISFALL_RATE) -> np.ndarray:
    """The dynamic residual scaled by `s` around the impact (module docstring), the posture kept."""
    if s == 1.0:
        return acc.copy()
    i = impact_index(acc)
    grav = posture(acc, rate)
    a, b, ramp = i - round(SOFT_BEFORE_S * rate), i + round(SOFT_AFTER_S * rate), round(RAMP_S * rate)
    scale = _profile(len(acc), [(a - ramp, 1.0), (a, s), (b, s), (b + ramp, 1.0)])
    return grav + (acc - grav) * scale[:, None]


def slowed(acc: np.ndarray, k: float, rate: float = SISFALL_RATE) -> np.ndarray:
    """The descent played `k` times slower, its residual /k^2, the impact's /k (module docstring)."""
    if k == 1.0:
        return acc.copy()
    i = impact_index(acc)
    rise = max(0, i - round(RISE_S * rate))
    start = max(0, rise - round(DESCENT_S * rate))
    stretched = round((rise - start) * k)
    # input sample index (fractional) of every output sample: unchanged, stretched, then shifted
    src = np.concatenate((np.arange(start, dtype=np.float64),
                          start + np.arange(stretched) / k,
                          np.arange(rise, len(acc), dtype=np.float64)))
    grav = posture(acc, rate)
    resid = acc - grav
    idx = np.arange(len(acc), dtype=np.float64)
    g_out = np.column_stack([np.interp(src, idx, grav[:, c]) for c in range(3)])
    r_out = np.column_stack([np.interp(src, idx, resid[:, c]) for c in range(3)])
    # /k^2 over the stretched descent, /k from the impact's peak for `IMPACT_S`, changing over the rise
    ramp, out_rise, peak = round(RAMP_S * rate), start + stretched, start + stretched + (i - rise)
    after = peak + round(IMPACT_S * rate)
    scale = _profile(len(src), [(start - ramp, 1.0), (start, 1.0 / k**2), (out_rise, 1.0 / k**2), (peak, 1.0 / k),
                                (after, 1.0 / k), (after + ramp, 1.0)])
    return g_out + r_out * scale[:, None]


def transformed(acc: np.ndarray, name: str, rate: float = SISFALL_RATE) -> np.ndarray:
    """The fall as the transform `name` of `TRANSFORMS` makes it: slowed first, then softened."""
    k, s = TRANSFORMS[name]
    slow = slowed(acc, k, rate)
    return softened(slow, s, rate)


def stayed(acc: np.ndarray, rate: float = SISFALL_RATE, up: tuple[float, float, float] = (0.0, -1.0, 0.0)
           ) -> np.ndarray | None:
    """The trial up to the end of its longest lying stretch (0.5 s posture blocks past `LYING_DEG`), so the
    evaluation's padding holds the wearer lying there (None: never lying for 1 s)."""
    block = round(0.5 * rate)
    n = len(acc) // block
    means = acc[:n * block].reshape(n, block, 3).mean(axis=1)
    cos = means @ np.asarray(up) / np.maximum(np.linalg.norm(means, axis=1), 1e-9)
    lying = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) >= LYING_DEG
    best, run, end = 0, 0, 0
    for k, down in enumerate(lying.tolist()):
        run = run + 1 if down else 0
        if run > best:
            best, end = run, k + 1
    return acc[:end * block] if best >= 2 else None


def soften_trials(trials: list[Trial], codes: tuple[str, ...] | None = CHAIR_CODES,
                  names: tuple[str, ...] = tuple(TRANSFORMS)) -> Iterator[tuple[Trial, np.ndarray]]:
    """Every fall trial of `codes` (None: every fall) as each transform of `names` makes it, as a
    `Trial` of variant "soften:<name>", then every lying-down ADL of `STAYED_CODES` cut where the lying ends
    (variant "soften:lay_down_stay": a false event there is an alarm or a fall.recovered)."""
    for trial in trials:
        if not trial.is_fall or (codes is not None and trial.code not in codes):
            continue
        try:
            acc = read_waist_adxl(trial.path)
        except TrialError:
            continue
        for name in names:
            yield Trial(trial.path, trial.code, trial.subject, f"soften:{name}"), transformed(acc, name)
    for trial in trials:
        if trial.code in STAYED_CODES:
            try:
                cut = stayed(read_waist_adxl(trial.path))
            except TrialError:
                continue
            if cut is not None:
                yield Trial(trial.path, trial.code, trial.subject, f"soften:{STAYED}"), cut


def softened_table(results: list[TrialResult],
                   outcomes: dict[str, Outcome] | None = None) -> dict[str, dict[str, Any]]:
    """Per transform: falls reported (any event), alarmed, recovered; reported per activity code and
    per subject. `outcomes` overrides each trial's outcome (cross-validation)."""
    def out(r: TrialResult) -> Outcome:
        return r.outcome if outcomes is None else outcomes[r.trial.key]

    table: dict[str, dict[str, Any]] = {}
    for variant in sorted({r.trial.variant for r in results if r.trial.softened}, key=VARIANTS.index):
        rs = [r for r in results if r.trial.variant == variant]
        per_code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        per_subject: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rs:
            for row in (per_code[r.trial.code], per_subject[r.trial.subject]):
                row[0] += out(r) is not None
                row[1] += 1
        events = sum(out(r) is not None for r in rs)
        table[variant.removeprefix("soften:")] = {"adl": not rs[0].trial.is_fall,
            "trials": len(rs), "events": events, "alarms": sum(out(r) == "alarm" for r in rs),
            "recovered": sum(out(r) == "recovered" for r in rs), "sensitivity": events / len(rs),
            "codes": dict(sorted(per_code.items())), "subjects": dict(sorted(per_subject.items()))}
    return table


def format_softened(table: dict[str, dict[str, Any]], title: str = "") -> str:
    if not table:
        return ""
    lines = [f"older adults' falls, made slower / softer from the young adults' (soften.py){title}",
             "transform         trials events alarms recovered sens(any)  lowest subject"]
    for name, v in table.items():
        if v["adl"]:
            groups = {g: [n for s, (_, n) in v["subjects"].items() if s.startswith(g)] for g in ("SA", "SE")}
            lines.append(f"{name:<18} {v['trials']:5d} ADL trials (SA {sum(groups['SA'])}, SE {sum(groups['SE'])}): "
                         f"{v['alarms']} false alarms, {v['recovered']} false fall.recovered")
            continue
        low = min(v["subjects"].items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0]))
        lines.append(f"{name:<18} {v['trials']:5d} {v['events']:6d} {v['alarms']:6d} {v['recovered']:9d}    "
                     f"{100 * v['sensitivity']:5.1f}%  {low[0]} {100 * low[1][0] / low[1][1]:.1f}%")
    for name, v in table.items():
        lines.append(f"  {name} per code (events/trials): "
                     + ", ".join(f"{c} {e}/{n}" for c, (e, n) in v["codes"].items()))
    return "\n".join(lines)


PACE_CODES = ("D07", "D08", "D09", "D10", "D11", "D12", "D15", "D16", "D17")  # done by both age groups


def pace(acc: np.ndarray, rate: float = SISFALL_RATE) -> tuple[float, float]:
    """How fast the trunk turns (99th percentile of the posture's angular speed, degrees/s, over 50 ms)
    and how hard it is moved (largest dynamic residual |a - posture|, g) over one trial."""
    grav = posture(acc, rate)
    unit = grav / np.maximum(np.linalg.norm(grav, axis=1, keepdims=True), 1e-9)
    step = round(0.05 * rate)
    cos = np.clip(np.einsum("ij,ij->i", unit[step:], unit[:-step]), -1.0, 1.0)
    turn = np.degrees(np.arccos(cos)) / (step / rate)
    return float(np.percentile(turn, 99)), float(np.linalg.norm(acc - grav, axis=1).max())


def older_vs_young(root: Path) -> dict[str, dict[str, float]]:
    """Per activity of `PACE_CODES`: the median turn speed and dynamic peak of the SE (60-75 y) and SA
    (19-30 y) trials, and SE / SA — what the transforms' sizes are read from."""
    by: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for trial in find_trials(root):
        if trial.code in PACE_CODES:
            try:
                by.setdefault((trial.code, trial.group), []).append(pace(read_waist_adxl(trial.path)))
            except TrialError:
                continue
    table: dict[str, dict[str, float]] = {}
    for code in PACE_CODES:
        if (code, "SA") in by and (code, "SE") in by:
            sa, se = np.median(by[code, "SA"], axis=0), np.median(by[code, "SE"], axis=0)
            table[code] = {"turn_sa": float(sa[0]), "turn_se": float(se[0]), "turn_ratio": float(se[0] / sa[0]),
                           "dyn_sa": float(sa[1]), "dyn_se": float(se[1]), "dyn_ratio": float(se[1] / sa[1])}
    return table


if __name__ == "__main__":
    for code, row in older_vs_young(Path(sys.argv[1])).items():
        print(f"{code}: turn {row['turn_sa']:.0f} -> {row['turn_se']:.0f} deg/s (SE/SA {row['turn_ratio']:.2f}), "
              f"dynamic peak {row['dyn_sa']:.2f} -> {row['dyn_se']:.2f} g (SE/SA {row['dyn_ratio']:.2f})")
