"""Cross-validation decides a recorded candidate as a detector with other weights would
(hub/detect/evaluation/watch.py): the 10 s decision under those weights, then, if they leave it waiting,
what the longer watch saw — whichever way the recording's own weights decided at 10 s."""

from __future__ import annotations

import numpy as np
from test_fall_rules import UP, hit, hold, tilted, turn, walk

from hub.detect.evaluation.cross_validation import decide
from hub.detect.evaluation.watch import Tape, watches
from hub.detect.fall.detector import BIAS, WEIGHTS, Assessment, FallDetector, FallParams
from hub.detect.fall.resample import FS


def recorded(*parts: np.ndarray, bias: float = BIAS) -> tuple[list[Assessment], Tape]:
    trace = np.vstack(parts) + np.random.default_rng(5).normal(0.0, 0.01, (sum(map(len, parts)), 3))
    det, tape = FallDetector(FS, FallParams(bias=bias, explain=True)), Tape(FS)
    found: list[Assessment] = []
    for i in range(0, len(trace), 10):
        found += det.push(trace[i:i + 10])
    tape.push(trace)
    return found, tape


# Standing, a fall onto the floor (0.6 s partly falling, a 4 g impact), lying there 8 s: the shipped weights
# alarm at 10 s, before any longer watch.
FALL = (walk(6.0), turn(UP, tilted(90.0), 0.6, weight=0.8), hit(tilted(90.0), 4.0), hold(tilted(90.0), 8.0))


def test_what_the_longer_watch_would_have_seen_is_read_off_the_samples() -> None:
    for after, expected in ((hold(tilted(90.0), 40.0), "still_down"),
                            (np.vstack((turn(tilted(90.0), UP, 3.0), walk(40.0))), "got_up")):
        found, tape = recorded(*FALL, after)
        falls = [a for a in found if a.fall]
        assert len(falls) == 1 and falls[0].rule is None, found  # decided at 10 s: never watched
        (first, *_) = [w for a, w in zip(found, watches(tape, found, FallParams()), strict=True) if a.fall]
        assert first == (False, None, expected)


def test_weights_that_do_not_alarm_at_10_s_decide_by_the_longer_watch() -> None:
    found, tape = recorded(*FALL, turn(tilted(90.0), UP, 3.0), walk(40.0))
    a = next(a for a in found if a.fall)
    (watch,) = [w for b, w in zip(found, watches(tape, found, FallParams()), strict=True) if b is a]
    shipped = np.r_[WEIGHTS, BIAS]
    quieter = np.r_[WEIGHTS, BIAS - 40.0]  # a fold whose score stays below the threshold at 10 s
    assert decide(shipped, 1.0, a.features, a.rule, a.landing, watch=watch) == "alarm"
    # It would have been watched 30 s longer and seen the wearer get up: a fall got up from, if the
    # landing scores as one under those weights (margin 0 here), where the recorded rule alone said nothing.
    assert decide(quieter, 1.0, a.features, a.rule, a.landing, -40.0, -40.0) is None
    assert decide(quieter, 1.0, a.features, a.rule, a.landing, -40.0, -40.0, watch=watch) == "recovered"


def test_weights_that_alarm_at_10_s_are_not_vetoed_by_a_watch_they_never_had() -> None:
    # A landing on the side, sitting up reclined at 50 degrees at 10 s (not up), up at 25 s. Recorded with
    # weights whose score stays below the threshold, it was watched (rule "got_up"); the shipped weights
    # alarm at 10 s on it and would have started the countdown.
    side = tilted(90.0, np.array([0.0, 0.0, -1.0]))
    found, tape = recorded(walk(6.0), turn(UP, side, 0.6, weight=0.8), hit(side, 4.0), hold(side, 4.0),
                           turn(side, tilted(50.0), 3.0), hold(tilted(50.0), 12.0), turn(tilted(50.0), UP, 3.0),
                           walk(40.0), bias=BIAS - 10.0)
    a = next(a for a in found if a.kind != "collapse")
    (watch,) = [w for b, w in zip(found, watches(tape, found, FallParams()), strict=True) if b is a]
    assert a.rule == "got_up" and watch == (False, None, "got_up"), found
    shipped = np.r_[WEIGHTS, BIAS]
    assert decide(shipped, 1.0, a.features, a.rule, a.landing) != "alarm"  # the recorded veto
    assert decide(shipped, 1.0, a.features, a.rule, a.landing, watch=watch) == "alarm"
