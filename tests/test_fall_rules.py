"""The fall detector's physical rules on synthetic traces (50 Hz, g): a fall from lying needs a drop,
dropping back into the seat one left is not a fall, a soft landing is decided on whether the wearer
stayed down, and a landing is measured from the posture before the descent even when the trunk has
turned to lying on the way down (issue 25)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hub.detect.fall.detector import Assessment, FallDetector, FallParams
from hub.detect.fall.phases import (
    BED_DROP_MS,
    BRAKE_S,
    HARD_DROP_MS,
    IMPACT_GS,
    STAY_S,
    braked_s,
    drop_speed,
    gentle,
    landed_fall,
    reseated,
    stopped_hard,
)
from hub.detect.fall.resample import FS
from hub.detect.fall.sim import synth_chair_fall_trace

UP = np.array([0.0, -1.0, 0.0])  # gravity as read standing (FallParams.up_axis)
SIDE = np.array([0.0, 0.0, -1.0])  # lying on the side
BACK = np.array([-1.0, 0.0, 0.0])  # lying on the back


def hold(v: np.ndarray, seconds: float) -> np.ndarray:
    return np.tile(v, (round(seconds * FS), 1))


def turn(a: np.ndarray, b: np.ndarray, seconds: float, weight: float = 1.0) -> np.ndarray:
    """From posture a to posture b at |a| = `weight` g (below 1: partly falling)."""
    k = np.linspace(0.0, 1.0, round(seconds * FS))[:, None]
    path = a * (1 - k) + b * k
    return path / np.linalg.norm(path, axis=1, keepdims=True) * weight


def hit(v: np.ndarray, peak_g: float, n: int = 12) -> np.ndarray:
    """An impact pulse of n samples (0.24 s) along the posture v."""
    k = np.linspace(0.0, 1.0, n)[:, None]
    return v * (1.0 + (peak_g - 1.0) * np.exp(-((k - 0.4) / 0.2) ** 2))


def walk(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * FS)) / FS
    return (UP * (1.0 + 0.25 * np.sin(2 * math.pi * 1.8 * t))[:, None]
            + SIDE * (0.1 * np.sin(2 * math.pi * 0.9 * t))[:, None])


def run(*parts: np.ndarray) -> list[Assessment]:
    trace = np.vstack(parts)
    trace = trace + np.random.default_rng(3).normal(0.0, 0.01, trace.shape)
    det = FallDetector(FS, FallParams())
    out: list[Assessment] = []
    for i in range(0, len(trace), 10):
        out += det.push(trace[i:i + 10])
    return out


def test_rolling_off_the_bed_is_a_fall_from_lying() -> None:
    # On the back, a roll to the side with 0.35 s in free fall (off a bed, ~3 m/s), a sharp 4.5 g impact
    # (soft in impulse: decided once the wearer has stayed down), then lying still on the floor.
    found = run(hold(BACK, 12.0), turn(BACK, SIDE, 0.15), turn(SIDE, SIDE, 0.35, weight=0.05),
                hit(SIDE, 4.5, n=5), hold(SIDE, 45.0))
    falls = [a for a in found if a.fall]
    assert len(falls) == 1 and falls[0].kind == "from_lying", found
    assert falls[0].drop_ms >= BED_DROP_MS


def test_turning_over_in_bed_is_not_a_fall_however_hard_the_mattress_is_hit() -> None:
    # The same roll and impact, but the body stays on the mattress: no drop.
    found = run(hold(BACK, 12.0), turn(BACK, SIDE, 0.5), hit(SIDE, 4.5, n=5), hold(SIDE, 45.0))
    assert found and not any(a.fall or a.recovered for a in found), found
    assert all(a.rule is None for a in found)


def test_dropping_back_into_the_seat_one_left_is_not_a_fall() -> None:
    # Sitting reclined, half up, then back down hard into the same seat (SisFall D11).
    seat = (UP + BACK) / math.sqrt(2.0)
    parts = (hold(seat, 8.0), turn(seat, UP, 1.0), turn(UP, seat, 0.4, weight=0.5), hit(seat, 4.0), hold(seat, 14.0))
    found = run(*parts)
    assert found and not any(a.fall for a in found), found
    assert any(a.rule == "reseated" for a in found)


def test_reseated_needs_the_same_posture_as_before() -> None:
    seat = (UP + BACK) / math.sqrt(2.0)
    floor = (UP + SIDE) / math.sqrt(2.0)  # as reclined, but sideways: slid down against something
    for end, expected in ((seat, True), (floor, False)):
        acc = np.vstack((hold(seat, 8.0), turn(seat, UP, 1.0), hit(UP, 4.0), hold(end, 12.0)))
        i = round(9.0 * FS) + 2
        assert reseated(acc, UP, i, (i + 7 * FS, i + 10 * FS)) is expected


def test_drop_speed_reads_a_fall_not_a_lowering() -> None:
    free = np.r_[np.ones(FS - 15), np.full(15, 0.05)]  # 0.3 s in free fall before the impact
    lowered = np.r_[np.full(FS, 0.95)]  # sat or lay down under control
    assert 2.5 < drop_speed(np.r_[free, 3.0], FS) < 3.1
    assert drop_speed(np.r_[lowered, 2.0], FS) < 0.6


def test_a_landing_is_measured_from_before_a_trunk_that_turned_on_the_way_down() -> None:
    # Standing, the trunk turns past lying over 3.5 s as the body goes down (a slow forward fall: lying
    # for 2.5 s before the impact, still turning), the impact, 4 s on the floor, getting up, walking
    # away: reported as a fall the wearer got up from.
    tilted = math.cos(math.radians(65)) * UP + math.sin(math.radians(65)) * SIDE
    lying = math.cos(math.radians(125)) * UP + math.sin(math.radians(125)) * SIDE
    found = run(walk(6.0), turn(UP, tilted, 1.0, weight=0.95), turn(tilted, lying, 2.5, weight=0.9),
                turn(lying, lying, 0.3, weight=0.4), hit(lying, 3.0), hold(lying, 4.0), turn(lying, UP, 3.0),
                walk(15.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].recovered, found
    assert events[0].landing is not None and events[0].landing[1] * 90 > 80  # turned from upright


def test_turning_over_after_lying_still_has_no_landing() -> None:
    # Lying steadily, a turn with a knock, then getting up and walking: someone who was down already.
    found = run(walk(4.0), turn(UP, BACK, 2.0), hold(BACK, 6.0), turn(BACK, SIDE, 0.6, weight=0.7),
                hit(SIDE, 3.0), hold(SIDE, 3.0), turn(SIDE, UP, 3.0), walk(15.0))
    assert found and not any(a.fall or a.recovered for a in found), found


def test_a_soft_landing_alarms_once_the_wearer_has_stayed_down() -> None:
    # The simulator's slump out of a chair lands at 2.3 g with little impulse: a lowering or a fall. It is
    # decided `STAY_S` after the post phase, on whether the wearer stayed down.
    trace = synth_chair_fall_trace(float(FS))
    falls = [a for a in run(trace) if a.fall]
    assert len(falls) == 1 and gentle(math.exp(falls[0].features[5])), falls
    assert falls[0].t - falls[0].impact_t == pytest.approx(FallParams().decide_after_s + STAY_S, abs=0.05)


def test_a_soft_landing_the_wearer_gets_up_from_is_no_alarm() -> None:
    # The same slump, 12 s on the floor (past the post phase, which alone would alarm), then up and away.
    trace = synth_chair_fall_trace(float(FS))
    impact = int(np.argmax(np.linalg.norm(trace, axis=1)))
    down = trace[impact + 12 * FS - FS // 2:impact + 12 * FS].mean(axis=0)
    found = run(trace[:impact + 12 * FS], turn(down, UP, 3.0), walk(45.0))
    assert found and not any(a.fall for a in found), found
    assert any(a.rule == "got_up" for a in found)


def tilted(deg: float, towards: np.ndarray = BACK) -> np.ndarray:
    return math.cos(math.radians(deg)) * UP + math.sin(math.radians(deg)) * towards


def test_a_hard_drop_into_a_reclined_posture_is_a_fall_though_not_lying() -> None:
    # Sitting, then backward off the chair: 0.3 s near free fall (~2.9 m/s), a 4 g impact, and the trunk
    # ends reclined at 55 degrees against the chair, not lying. Staying there still: an alarm.
    seat, floor = tilted(10.0), tilted(55.0)
    down = (hold(seat, 8.0), turn(seat, floor, 0.3, weight=0.05), hit(floor, 4.0))
    found = run(*down, hold(floor, 45.0))
    falls = [a for a in found if a.fall]
    assert len(falls) == 1 and falls[0].rule == "hard_drop" and falls[0].kind == "to_seated", found
    assert falls[0].drop_ms >= HARD_DROP_MS
    # The same fall, then up after 4 s and walking away: reported as a fall the wearer got up from.
    found = run(*down, hold(floor, 4.0), turn(floor, UP, 3.0), walk(15.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].recovered, found


def test_sitting_down_quickly_into_a_reclined_seat_is_no_hard_drop() -> None:
    # Standing, lowered into a reclined armchair in 1 s (|a| 0.85 g: ~1.5 m/s), a 2.5 g bump, resting there.
    seat = tilted(50.0)
    found = run(walk(6.0), turn(UP, seat, 1.0, weight=0.85), hit(seat, 2.5), hold(seat, 45.0))
    assert found and all(a.drop_ms < HARD_DROP_MS and a.rule != "hard_drop" for a in found), found


def test_a_slow_get_up_after_a_fall_is_still_reported() -> None:
    # The slow forward fall above (onto the side), 4 s on the floor, then an older adult's get-up: 3 s to
    # sitting up on the floor, leaning back at 55 degrees, 12 s there (reclined, not lying, at the end of
    # the 10 s post phase), 3 s to standing, walking away. Reported as a fall got up from once the longer
    # watch has seen the wearer up (40 s after the impact), not dropped as "not up again".
    side, lying, half = tilted(65.0, SIDE), tilted(125.0, SIDE), tilted(55.0)
    down = (walk(6.0), turn(UP, side, 1.0, weight=0.95), turn(side, lying, 2.5, weight=0.9),
            turn(lying, lying, 0.3, weight=0.75), hit(lying, 3.0), hold(lying, 4.0), turn(lying, half, 3.0))
    found = run(*down, hold(half, 12.0), turn(half, UP, 3.0), walk(45.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].recovered and events[0].rule == "got_up", found
    assert 45.0 < events[0].features[3] * 90.0 < 60.0  # at 10 s: neither up again nor lying
    assert events[0].t - events[0].impact_t == pytest.approx(FallParams().decide_after_s + STAY_S, abs=0.05)
    # The same fall, the wearer still sitting there 40 s after it: the countdown, not silence.
    found = run(*down, hold(half, 45.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].fall and events[0].rule == "still_down", found
    assert events[0].kind == "to_seated"


def test_lying_down_slowly_is_not_a_fall_however_long_it_is_watched() -> None:
    # Standing, sitting on the bed's edge, lowered onto the back over 4 s to 59 degrees (a pillow under the
    # shoulders), a 1.6 g bump, resting there: no landing like a fall, so nothing at 10 s or 40 s.
    edge, bed = tilted(20.0), tilted(59.0)
    found = run(walk(6.0), turn(UP, edge, 1.5, weight=0.9), hold(edge, 3.0), turn(edge, bed, 4.0, weight=0.97),
                hit(bed, 1.6), hold(bed, 45.0), turn(bed, UP, 3.0), walk(10.0))
    assert not any(a.fall or a.recovered for a in found), found


def test_braking_before_contact_is_read_off_the_rise_to_the_peak() -> None:
    # A fall: below 1 g (partly falling) until 2 samples before the peak. Sitting down onto a low seat: the
    # legs brake the body at ~1.15 g for 0.4 s before the seat is reached.
    fall = np.r_[np.full(FS, 0.6), 1.5, 3.0]
    braked = np.r_[np.full(FS, 0.9), np.full(round(0.4 * FS), 1.15), 2.0]
    assert braked_s(fall, len(fall) - 1) < BRAKE_S
    assert braked_s(braked, len(braked) - 1) >= BRAKE_S
    assert braked_s(np.full(2 * FS, 1.2), 2 * FS - 1) == 1.0  # never below 1 g in the second before


def test_an_unbraked_hard_impact_lowers_the_landing_margin_a_braked_one_does_not() -> None:
    # Landing features (weights all zero but rotation: the score is the rotation alone, 1.0 logit) that end
    # lying; the margin is 5 logits unless the waist dropped fast or the impact stopped the body hard.
    w, bias = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]), 0.0
    hard, soft = math.log(IMPACT_GS + 0.05), math.log(IMPACT_GS - 0.05)

    def landing(area: float, braked: float) -> tuple[float, ...]:
        return (math.log(2.5), 1.0, 0.1, 1.0, math.log(0.02), area, 0.4, 0.3, braked)

    assert stopped_hard(landing(hard, 0.1)) and not stopped_hard(landing(hard, BRAKE_S + 0.1))
    assert landed_fall(landing(hard, 0.1), w, bias, 5.0, 0.5)
    assert not landed_fall(landing(hard, BRAKE_S + 0.1), w, bias, 5.0, 0.5)  # braked: lowered into a seat
    assert not landed_fall(landing(soft, 0.1), w, bias, 5.0, 0.5)  # a soft impact: as before


def test_a_fall_from_sitting_that_pitches_over_is_reported_by_its_impact() -> None:
    # Sitting, the trunk pitches forward to lying in 1.2 s (|a| 0.97 g: the waist barely drops, so the drop
    # speed reads little), an unbraked 3.5 g impact, 4 s on the floor, up and away. With only the lowered
    # margin able to report it (the plain one out of reach), the impact's impulse does; the same landing
    # braked before contact (1.15 g for 0.4 s, as sitting down onto a low seat) reports nothing.
    seat, lying = tilted(10.0), tilted(90.0, SIDE)

    def found(*before_contact: np.ndarray, impact_gs: float = IMPACT_GS) -> list[Assessment]:
        params = FallParams(recovered_margin=1000.0, dropped_margin=0.0, impact_gs=impact_gs)
        parts = (hold(seat, 8.0), turn(seat, lying, 1.2, weight=0.97), *before_contact, hit(lying, 3.5),
                 hold(lying, 4.0), turn(lying, UP, 3.0), walk(15.0))
        trace = np.vstack(parts) + np.random.default_rng(3).normal(0.0, 0.01, (sum(map(len, parts)), 3))
        det = FallDetector(FS, params)
        return [a for i in range(0, len(trace), 10) for a in det.push(trace[i:i + 10])]

    unbraked = found()
    events = [a for a in unbraked if a.fall or a.recovered]
    assert len(events) == 1 and events[0].recovered, unbraked
    assert events[0].drop_ms < FallParams().drop_ms and math.exp(events[0].features[5]) >= IMPACT_GS
    braked = found(hold(lying * 1.15, 0.4))
    assert braked and not any(a.fall or a.recovered for a in braked), braked
    without = found(impact_gs=math.inf)  # no impact criterion: the drop alone does not report it
    assert without and not any(a.fall or a.recovered for a in without), without


def test_sitting_up_on_the_floor_at_the_seat_s_recline_is_no_reseat_after_a_fall() -> None:
    # Sitting reclined at 50 degrees, then backward off the seat: 0.5 s partly falling, a 4 g impact, lying
    # on the back. 4 s later the wearer sits up on the floor, leaning back at the seat's very recline, and
    # is there at the end of the 10 s post phase: "back in the seat" by the posture alone (SisFall F14
    # spliced with a slow get-up ended in nothing this way). The landing passed through lying, so the
    # longer watch decides: up and away -> a fall got up from; still sitting there -> the countdown.
    seat, lying = tilted(50.0), tilted(100.0)
    down = (hold(seat, 8.0), turn(seat, lying, 0.5, weight=0.4), hit(lying, 4.0), hold(lying, 4.0),
            turn(lying, seat, 3.0))
    found = run(*down, hold(seat, 12.0), turn(seat, UP, 3.0), walk(45.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].recovered and events[0].rule == "got_up", found
    found = run(*down, hold(seat, 45.0))
    events = [a for a in found if a.fall or a.recovered]
    assert len(events) == 1 and events[0].fall and events[0].rule == "still_down", found
    assert events[0].kind == "to_seated"
