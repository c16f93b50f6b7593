"""Falls the wearer gets up from, for `hub eval fall`: each SisFall fall trial spliced with its subject
getting up and walking away.

SisFall's falls end on the mat: nobody gets up within the recording. A "got up" trial is built from
three parts, all of the same subject:

1. the fall trial up to `hold` seconds after its impact (the largest |a| of the recording), `hold`
   drawn uniformly from `HOLD_S` (3.5-6 s) with a seeded RNG: the wearer lies on the floor for a moment;
2. a 3 s turn (`TURN_S`, at 1 g plus sensor noise, as between the wear-day trials) from that lying
   posture (mean of the last 0.5 s) to the first posture of the walk: getting up;
3. `WALK_S` (15 s) of the subject's walking, from `WALK_FROM_S` (5 s) into their `D01_<SUBJECT>_R01`
   trial (walking slowly; the first D01/D02 trial found if that one is missing): walking away.

The get-up is over 6.5-9 s after the impact, inside the detector's 10 s post-fall phase, so these are
exactly the falls that raised nothing before. `get_up_s` (`hub eval fall --get-up-s`) makes the get-up
slower, as an older adult's: a 3 s turn from lying to reclined (`RECLINED_DEG` from the walk's upright
posture), held there with sensor noise, then a 3 s turn to upright — `get_up_s` in all (15 s, 25 s:
still reclined at the end of the post phase, upright 18.5-21 s and 28.5-31 s after the impact). The
wanted outcome is `recovered` (fall.recovered), not an alarm; the evaluator reports both. Subjects
without falls (SE) get none.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np

from hub.detect.evaluation.falls import SISFALL_RATE, Trial, TrialError, read_waist_adxl
from hub.detect.evaluation.wear import NOISE_G, TURN_S, transition

HOLD_S = (3.5, 6.0)
RECLINED_DEG = 55.0  # a slow get-up's halfway posture: sitting up on the floor, leaning on an arm
WALK_FROM_S = 5.0
WALK_S = 15.0
VARIANT = "got_up"


def got_up(fall: np.ndarray, walk: np.ndarray, hold_s: float, noise: np.random.Generator,
           rate: float = SISFALL_RATE, get_up_s: float = TURN_S) -> np.ndarray:
    """The fall up to `hold_s` after its impact, a turn to standing (through a reclined posture held
    for the rest of `get_up_s` when that is longer than two turns), then the walk."""
    impact = int(np.argmax(np.linalg.norm(fall, axis=1)))
    cut = min(len(fall), impact + round(hold_s * rate))
    lying = fall[max(0, cut - int(rate) // 2):cut].mean(axis=0)
    walk = walk[round(WALK_FROM_S * rate):round((WALK_FROM_S + WALK_S) * rate)]
    upright = walk[:int(rate)].mean(axis=0)
    if get_up_s < 2 * TURN_S:
        turn = transition(lying, upright, TURN_S)
    else:
        half = reclined(lying, upright)
        turn = np.vstack((transition(lying, half, TURN_S), transition(half, upright, get_up_s - TURN_S)))
    return np.vstack((fall[:cut], turn + noise.normal(0.0, NOISE_G, turn.shape), walk))


def reclined(lying: np.ndarray, upright: np.ndarray) -> np.ndarray:
    """The posture (unit) `RECLINED_DEG` from `upright`, on the way from `lying` (as it is if less)."""
    a, b = lying / np.linalg.norm(lying), upright / np.linalg.norm(upright)
    theta = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if theta <= np.radians(RECLINED_DEG) or theta < 1e-6:
        return a
    f = 1.0 - np.radians(RECLINED_DEG) / theta  # slerp from a towards b by the fraction f
    return (np.sin((1 - f) * theta) * a + np.sin(f * theta) * b) / np.sin(theta)


def _walk_of(trials: list[Trial]) -> Trial | None:
    walks = sorted((t for t in trials if t.code in ("D01", "D02")), key=lambda t: (t.code, str(t.path)))
    return walks[0] if walks else None


def got_up_trials(trials: list[Trial], seed: int = 0,
                  get_up_s: float = TURN_S) -> Iterator[tuple[Trial, np.ndarray]]:
    """A spliced "got up" trial for every fall trial whose subject has a walking trial."""
    for subject in sorted({t.subject for t in trials}):
        mine = [t for t in trials if t.subject == subject]
        walk_trial = _walk_of(mine)
        falls = [t for t in mine if t.is_fall]
        if walk_trial is None or not falls:
            continue
        rng = random.Random(f"{seed}:{subject}:got_up")
        noise = np.random.default_rng(rng.randrange(2**32))
        try:
            walk = read_waist_adxl(walk_trial.path)
        except TrialError:
            continue
        if len(walk) < (WALK_FROM_S + WALK_S) * SISFALL_RATE:
            continue
        for trial in falls:
            try:
                acc = read_waist_adxl(trial.path)
            except TrialError:
                continue
            yield (Trial(trial.path, trial.code, trial.subject, VARIANT),
                   got_up(acc, walk, rng.uniform(*HOLD_S), noise, get_up_s=get_up_s))
