"""The one decision `FallDetector` makes for an impact candidate, as two small tables: which rule holds
(`RULES`, the first that matches), then what the candidate is (`outcome`). The same tables decide a
recorded candidate under other weights and constants (`hub/detect/evaluation/cross_validation.decide`),
so the evaluation and the detector cannot drift apart.

Rules (the first that holds; each decides whatever the score):

    from_lying   no upright period, lying before and after, a drop off a bed,   an alarm
                 a hard impact, then lying still
    reseated     back, reclined, in the seat the wearer had left                no alarm (vetoes the score);
                 after a landing that may be a fall, only until the longer watch
    got_up       watched `STAY_S` longer and up again in that time              no alarm (vetoes the score)
    hard_drop    a fast drop into a turned, reclined posture, lying still there  an alarm
    still_down   watched `STAY_S` longer and never up in that time              an alarm if the landing is a fall

Outcome: an alarm when the score says so (above the threshold, not moving about, not `unchanged`, not
vetoed) or a rule alarms whatever the score; else `wait` when the wearer is not up again, no rule but
`reseated` decides, and the landing may be a fall (decided `STAY_S` later: a wearer who fell backward
off a reclined seat and sits up on the floor at the seat's recline ends the post phase "in the seat"
though the landing passed through lying; back in a seat, one never lies on the way); else, when the landing scores
as a fall (`phases.landed_fall`), a recovered fall if the wearer is up again (at the end of the post
phase, or within the longer watch), an alarm if still down at the end of that watch; else nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from hub.detect.fall.phases import STILL_G, from_lying, hard_drop, moving, unchanged, up_again

Rule = Literal["from_lying", "reseated", "got_up", "hard_drop", "still_down"] | None
Outcome = Literal["alarm", "recovered", "wait"] | None
VETO: tuple[Rule, ...] = ("reseated", "got_up")  # the score does not alarm under these
FORCED: tuple[Rule, ...] = ("from_lying", "hard_drop")  # these alarm whatever the score


@dataclass(frozen=True)
class Case:
    """What the rules read of one candidate: its post-phase features, the descent (None: none seen),
    the drop speed (m/s), whether it was watched `STAY_S` longer (`late`) and stayed down in that watch,
    the reseated test (lazy: it reads the buffer) and whether the landing may be a fall whatever the
    weights (lazy: `phases.could_have_landed`)."""

    feats: tuple[float, ...]
    descent: float | None
    drop: float
    late: bool
    down: bool
    from_lying_g: float
    reseated: Callable[[], bool]
    may_land: Callable[[], bool] = lambda: False


RULES: tuple[tuple[Rule, Callable[[Case], bool]], ...] = (
    ("from_lying", lambda c: from_lying(c.feats, c.descent, c.from_lying_g, c.drop)),
    # Once watched longer after a landing that may be a fall, whether the wearer got up or stayed down
    # decides, not the posture at 10 s.
    ("reseated", lambda c: c.reseated() and not (c.late and c.may_land())),
    ("got_up", lambda c: c.late and not c.down),
    ("hard_drop", lambda c: hard_drop(c.feats, c.drop) and math.exp(c.feats[4]) - 0.01 < STILL_G),
    ("still_down", lambda c: c.down),
)


def rule_of(case: Case) -> Rule:
    """The first rule of `RULES` that holds, or None."""
    return next((name for name, holds in RULES if holds(case)), None)


def scored(score: float, threshold: float, feats: tuple[float, ...], rule: Rule) -> bool:
    """The score alarms: above the threshold, not moving about, not `unchanged`, not vetoed by a rule."""
    return score > threshold and not moving(feats) and not unchanged(feats) and rule not in VETO


def outcome(alarm_score: bool, rule: Rule, feats: tuple[float, ...], late: bool,
            may_land: Callable[[], bool], landing_fall: Callable[[], bool]) -> Outcome:
    """The candidate's outcome (module docstring). `may_land`: the landing may be a fall whatever the
    weights (`phases.could_have_landed`); `landing_fall`: it scores as one. Both are lazy (the landing is
    computed only when asked)."""
    if alarm_score or rule in FORCED:
        return "alarm"
    up = up_again(feats)
    if not (late or up or rule not in (None, "reseated")) and may_land():
        return "wait"
    if not landing_fall():
        return None
    return "recovered" if up or rule == "got_up" else "alarm" if rule == "still_down" else None
