"""The phases of a fall, measured on the 50 Hz buffer of `FallDetector` (hub/detect/fall/detector.py):
the pre-fall posture (the last upright period), the descent, the impact and the post-fall (or landing)
posture, as the seven features of the logistic score, plus the rules read off them.

Pure functions over numpy arrays: `acc` (N, 3) in g, `mag` its |a|, `up` the sensor axis pointing up
when standing, `i` the impact's index. The detector keeps the state; this keeps the geometry.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hub.detect.fall.resample import FS

FEATURES = ("log_peak", "rotation", "tilt_before", "tilt_after", "log_still", "log_area", "dip")
LOOKBACK_S = 10.0  # how far back the last upright period is looked for
BLOCK = FS // 2  # posture blocks of 0.5 s
UPRIGHT_DEG = 35.0  # trunk within this of vertical: upright (standing, walking, sitting up)
LYING_DEG = 60.0  # beyond this: lying
SETTLED_S = 1.5  # lying this long right before an impact: the descent ended before it
SEATED_MAX_DEG = 60.0  # a fall whose post phase ends below this tilt ended seated / reclined
POST_POSTURE_S = 3.0  # the posture after: the last seconds of the post phase
STILL_G = 0.06  # std of |a| below this over the post phase: lying still
MOVING_G = 0.3  # std of |a| above this over the post phase: walking or running about, got up
MIN_TURN_DEG, UPRIGHT_AFTER_DEG = 15.0, 45.0  # turned less, still this upright after: no posture change
STEADY_DEG = 10.0  # consecutive 0.5 s blocks turned less than this: a steady posture, not a descent
# An impact this soft (impulse above 1 g within +-0.5 s, g*s; ~1 m/s of speed lost) may be a lowering
# as well as a fall: it is decided only after `STAY_S` more, on whether the wearer stayed down. Every
# SisFall fall that alarms has more (the softest 0.086, 1 % below 0.15): chosen on the development data.
GENTLE_GS = 0.1
STAY_S = 30.0
SEAT_DEG = 10.0  # a reclined post posture this close to one held in the look-back: back in the same seat
LANDING_S = (1.0, 3.5)  # the landing: this window after the impact, where a fall ends on the floor
# The waist dropping this fast before the impact (m/s, `drop_speed`): a fall to the floor. Lying down
# quickly onto a bed (SisFall D13) reaches 0.6 m/s at most (95th percentile), falls off a chair 0.45-1.1
# at their slowest 5 %. What the nested selection (hub/detect/evaluation/nested.py) picks on all the
# development subjects (seed 0, 3 s get-ups), with `FallParams.recovered_margin` 12, `dropped_margin` 2
# and `IMPACT_GS` (0.9 before the impact criterion: the drop now carries less; seed 1 picks 1.0).
DROP_MS = 1.4
# An impact whose impulse above 1 g (g*s, `impulse`) is at least this, unbraked (`BRAKE_S`), stopped the
# body hard: ~1.4 m/s lost at contact. On SisFall every ADL landing that could be reported (ends lying,
# not moving about) has 0.17 g*s at most (SE08 sitting down quickly onto a half-height chair, D08, braked),
# lying down quickly onto a bed (D13) 0.13; the falls from sitting whose drop under-reads them 0.13-0.27.
# What the nested selection picks on all the development subjects (seed 0; seed 1: 0.16); lowers the
# landing's margin as a drop of `DROP_MS` does.
IMPACT_GS = 0.14
# |a| at or above 1 g without a break for this long right before the impact's peak: the body was being
# braked (held by the legs or arms) as it came down. Falls from sitting rise from below 1 g to their peak
# in 0.14 s or less; sitting down quickly onto a low seat (SisFall D08, SE08: 0.17 g*s) brakes for 0.36 s.
# Chosen on the development data (not by the nested selection; 0.3 s gives the same totals).
BRAKE_S = 0.2
# Off a bed (~0.45 m) to the floor is ~3 m/s in free fall, ~2 m/s from half that height (rolling off,
# partly held): a fall from lying must drop at least this fast. Turning over in bed drops nothing, but
# the |a| shortfall of a brisk turn integrates to ~1.2 m/s (SisFall D14, SA08): hence well above that.
BED_DROP_MS = 2.0
# A drop this fast (m/s; ~0.2 m of free fall) into a landing turned at least `TURNED_DEG` and reclined
# past `UPRIGHT_AFTER_DEG` is a fall whatever the score: backward off a chair onto the floor ends
# reclined against it, not lying (SisFall F14, SA11: 2.15-2.32 m/s, 3.5-5.9 g, 51-60 degrees). No ADL
# landing that turns and reclines that far drops faster than 1.41 m/s (SE08 sitting quickly on a low
# chair, D10), and a person lowered into a seat or onto a bed is lowered, not dropped.
HARD_DROP_MS = 2.0
TURNED_DEG = 30.0

Vec = NDArray[np.float64]


def _unit(v: Vec) -> Vec:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def angle(u: Vec, v: Vec) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, float(_unit(u) @ _unit(v))))))


def moving(feats: tuple[float, ...]) -> bool:
    """The post-fall phase shows walking or running about (std of |a| above `MOVING_G`): whoever it was
    is up again, whatever the posture at the end says."""
    return math.exp(feats[4]) - 0.01 > MOVING_G


def up_again(feats: tuple[float, ...]) -> bool:
    """At the end of the post phase the wearer is up again — the trunk within `UPRIGHT_AFTER_DEG` of
    vertical, or walking about: a fall the wearer got up from, if its landing was one. Not up again
    (still reclined: a slow get-up, or lying there) after a landing that may be a fall, or after a
    gentle impact, the detector asks again over `STAY_S` more (`stayed_down`): up -> recovered, still
    down -> suspected, if the landing scores as a fall (SisFall D12, SE08, lying down slowly to 59
    degrees, does not with the shipped constants: nothing)."""
    return feats[3] * 90.0 < UPRIGHT_AFTER_DEG or moving(feats)


def unchanged(feats: tuple[float, ...]) -> bool:
    """Upright before and after, turned less than `MIN_TURN_DEG`: a hard step, a stamp at the foot of
    the stairs, the end of a jog — not a fall, which ends in another posture, whatever the impact."""
    return feats[1] * 90.0 < MIN_TURN_DEG and feats[3] * 90.0 < UPRIGHT_AFTER_DEG


def from_lying(feats: tuple[float, ...], descent_s: float | None, from_lying_g: float, drop_ms: float) -> bool:
    """A fall that starts lying (out of bed): no upright period before, lying before and after, a drop
    (`BED_DROP_MS`), a hard impact and lying still afterwards."""
    return (descent_s is None and feats[2] * 90.0 >= LYING_DEG and feats[3] * 90.0 >= LYING_DEG
            and drop_ms >= BED_DROP_MS and math.exp(feats[0]) >= from_lying_g
            and math.exp(feats[4]) - 0.01 < STILL_G)


def hard_drop(feats: tuple[float, ...], drop_ms: float) -> bool:
    """A drop of the waist of at least `HARD_DROP_MS` into a posture turned `TURNED_DEG` or more from the
    one before and reclined past `UPRIGHT_AFTER_DEG`, not moving about: fallen, even if not lying."""
    return (drop_ms >= HARD_DROP_MS and feats[1] * 90.0 >= TURNED_DEG and feats[3] * 90.0 >= UPRIGHT_AFTER_DEG
            and not moving(feats))


def could_have_landed(landed: tuple[float, ...] | None) -> bool:
    """What `landed_fall` asks whatever the weights: a landing that ends lying (or turned that far) and
    not moving about, or a hard drop. Such a candidate is never left undecided (`FallDetector`)."""
    return landed is not None and (hard_drop(landed, landed[len(FEATURES)]) or (
        max(landed[3], landed[1]) * 90.0 >= LYING_DEG and not moving(landed)))


def landed_fall(landed: tuple[float, ...], weights: Vec, bias: float, threshold: float,
                dropped_threshold: float | None = None, drop_ms: float = DROP_MS,
                impact_gs: float = IMPACT_GS) -> bool:
    """The landing (`LANDING_S` after the impact, `features(..., landing=True)`) ends lying — tilted
    past `LYING_DEG`, or turned that far from the posture before (a sensor worn tilted lies at less) —
    not moving about, and scores above `threshold`, or above `dropped_threshold` after a drop of at
    least `drop_ms` (`DROP_MS`) or an impact that stopped the body hard (`stopped_hard`: an impulse of
    `impact_gs`); or it follows a hard drop (`hard_drop`): a fall, whatever the wearer does afterwards."""
    drop = landed[len(FEATURES)]
    if dropped_threshold is not None and (drop >= drop_ms or stopped_hard(landed, impact_gs)):
        threshold = dropped_threshold
    return hard_drop(landed, drop) or (float(weights @ np.asarray(landed[:len(FEATURES)])) + bias > threshold
                                        and max(landed[3], landed[1]) * 90.0 >= LYING_DEG and not moving(landed))


def stopped_hard(landed: tuple[float, ...], impact_gs: float = IMPACT_GS) -> bool:
    """The landing's impact stopped the body hard and unbraked: its impulse above 1 g (`log_area`) is at
    least `impact_gs` — the speed lost at contact, where the drop speed (`drop_speed`, the |a| shortfall
    before it) under-reads a fall whose trunk pitches over on the way down (falls from sitting, SisFall
    F11, F13-F15) — and |a| was not held above 1 g for `BRAKE_S` before the peak (`braked_s`): a body
    lowered into a seat is decelerated by the legs before it lands."""
    return math.exp(landed[5]) >= impact_gs and landed[len(FEATURES) + 1] < BRAKE_S


def gentle(impulse_gs: float) -> bool:
    """An impact too soft to tell a fall from a lowering by itself (`GENTLE_GS`): the issue's "longer
    observation window rather than a higher impact threshold" for slow falls."""
    return impulse_gs < GENTLE_GS


def impulse(mag: Vec, i: int) -> float:
    """The impulse above 1 g within +-0.5 s of index i (g*s): the momentum lost at the impact."""
    return float(np.maximum(mag[max(0, i - FS // 2):i + FS // 2] - 1.0, 0.0).sum()) / FS


def stayed_down(acc: Vec, mag: Vec, up: Vec, start: int, end: int) -> bool:
    """Between buffer indices start and end the wearer was never upright again (no 0.5 s block within
    `UPRIGHT_DEG` of vertical) and not walking about (std of |a| below `MOVING_G`): still down."""
    for s in range(start, end - BLOCK + 1, BLOCK):
        if angle(acc[s:s + BLOCK].mean(axis=0), up) <= UPRIGHT_DEG:
            return False
    return float(mag[start:end].std()) < MOVING_G


def post_window(i: int, decide_n: int) -> tuple[int, int]:
    """The post-fall posture's window (sample indices): the last POST_POSTURE_S of the `decide_n`
    samples after the impact at i, never starting within its first second."""
    return max(i + FS, i + decide_n - round(POST_POSTURE_S * FS)), i + decide_n


def reseated(acc: Vec, up: Vec, i: int, post: tuple[int, int]) -> bool:
    """The post phase ends reclined (below `SEATED_MAX_DEG`) in the very posture, within `SEAT_DEG`, of
    a reclined 0.5 s block in the look-back: the wearer tried to get up and dropped back into the seat
    they had left (SisFall D11), however hard. A fall ends in another posture: on SisFall the falls
    that end reclined are 53 degrees or more from anything held before."""
    after = acc[post[0]:post[1]].mean(axis=0)
    if angle(after, up) >= SEATED_MAX_DEG:
        return False
    first = max(0, i - round(LOOKBACK_S * FS))
    for start in range(i - BLOCK // 2 - BLOCK, first - 1, -BLOCK):
        mean = acc[start:start + BLOCK].mean(axis=0)
        if angle(mean, up) > UPRIGHT_DEG and angle(mean, after) < SEAT_DEG:
            return True
    return False


def pre_posture(acc: Vec, up: Vec, i: int) -> tuple[Vec, float | None]:
    """The mean acceleration of the last upright 0.5 s block before the impact at index i, and the
    descent time from its end (None: no upright period leading into the impact)."""
    first = max(0, i - round(LOOKBACK_S * FS))
    end = i - BLOCK // 2  # the impact's own lead-in is not a posture
    blocks = [(s, acc[s:s + BLOCK].mean(axis=0)) for s in range(end - BLOCK, first - 1, -BLOCK)]
    settled = 0  # lying blocks right before the impact
    for start, mean in blocks:
        tilt = angle(mean, up)
        if tilt <= UPRIGHT_DEG:
            return mean, (i - start - BLOCK) / FS
        settled = settled + 1 if tilt >= LYING_DEG and settled * BLOCK == end - start - BLOCK else settled
        if settled * BLOCK >= SETTLED_S * FS:
            # Already lying for a while before this impact: the descent (if any) ended earlier, so
            # this is someone moving while lying (turning over after lying down), not a fall's end.
            return blocks[0][1], None
    if blocks:
        return blocks[-1][1], None  # never upright in the look-back: the earliest posture
    return acc[max(0, i - FS)], None


def landing_pre_posture(acc: Vec, up: Vec, i: int) -> tuple[Vec, float | None]:
    """The posture a landing is measured from: the last upright block before the impact, else the least
    tilted one (sitting reclined, or a sensor worn tilted). The look-back goes past lying blocks while
    the trunk is still turning — a fall that rotates the trunk on the way down is lying before it
    lands — but not past `SETTLED_S` of lying *steadily* (turned less than `STEADY_DEG` per block):
    whoever lay steadily before was down already (turning over in bed), None."""
    first = max(0, i - round(LOOKBACK_S * FS))
    end = i - BLOCK // 2
    least: tuple[float, int, Vec] | None = None
    settled, later = 0, None
    for start in range(end - BLOCK, first - 1, -BLOCK):
        mean = acc[start:start + BLOCK].mean(axis=0)
        tilt = angle(mean, up)
        if tilt <= UPRIGHT_DEG:
            return mean, (i - start - BLOCK) / FS
        steady = tilt >= LYING_DEG and later is not None and angle(mean, later) < STEADY_DEG
        settled = settled + 1 if steady else 0
        if settled * BLOCK >= SETTLED_S * FS:
            return mean, None
        if least is None or tilt < least[0]:
            least = tilt, start, mean
        later = mean
    if least is None or least[0] >= LYING_DEG:
        return pre_posture(acc, up, i)[0], None
    return least[2], (i - least[1] - BLOCK) / FS


def features(acc: Vec, mag: Vec, up: Vec, i: int, post: tuple[int, int],
             landing: bool = False) -> tuple[tuple[float, ...], float | None]:
    """The seven features of the impact at index i with the post-fall posture read over `post` (start,
    end indices), and the descent time. `landing`: the pre-fall posture of `landing_pre_posture`."""
    pre, descent = landing_pre_posture(acc, up, i) if landing else pre_posture(acc, up, i)
    post_start, post_end = post
    after = acc[post_start:post_end].mean(axis=0)
    still = float(mag[i + FS:post_end].std())
    area = impulse(mag, i)
    # Tilts capped at a quarter turn as well: past horizontal (lying with the sensor facing down)
    # is still lying, and larger values extrapolate past anything in training.
    tilt_before, tilt_after = min(angle(pre, up), 90.0), min(angle(after, up), 90.0)
    # Capped at a quarter turn; from lying (no upright period leading into the impact) only the
    # change of tilt counts: rolling over in bed turns the trunk about its own axis, a fall does not.
    rotation = min(angle(pre, after) if descent is not None else abs(tilt_after - tilt_before), 90.0)
    dip = min(1.0, max(0.0, 1.0 - float(mag[max(0, i - FS):i].min()))) if i > 0 else 0.0
    feats = (math.log(float(mag[i])), rotation / 90.0, tilt_before / 90.0, tilt_after / 90.0,
             math.log(still + 0.01), math.log(max(area, 1e-3)), dip)
    return (*feats, drop_speed(mag, i), braked_s(mag, i)) if landing else feats, descent


def braked_s(mag: Vec, i: int) -> float:
    """How long |a| had been at or above 1 g without a break up to the peak at index i (s, at most 1 s):
    how long the body was being decelerated before it landed (braked, `BRAKE_S`)."""
    start = max(0, i - FS)
    below = np.flatnonzero(mag[start:i + 1] < 1.0)
    return (i - start - int(below[-1])) / FS if len(below) else 1.0


def drop_speed(mag: Vec, i: int) -> float:
    """How fast the waist was dropping before the impact (m/s): the shortfall of |a| below 1 g over
    the second before it, integrated. Lying down onto a bed turns the trunk about the hip, which stays
    at seat height; a fall from standing or off a chair drops the hip to the floor."""
    return float(np.maximum(1.0 - mag[max(0, i - FS):i], 0.0).sum()) / FS * 9.81
