"""What the longer watch would have said, for candidates the recorded run did not watch.

Cross-validation decides recorded candidates under other weights (`cross_validation.decide`). The
detector's 10 s decision depends on the weights: a candidate the recording's detector alarmed on at 10 s
was never watched `STAY_S` longer, though a detector with other weights, whose score stays below the
threshold, would have watched it (and reported a fall got up from, or alarmed after it); and a candidate
the recording's detector watched is decided by "got_up" / "still_down", though other weights might have
alarmed at 10 s already. Deciding with the recorded rule alone was wrong both ways. So each candidate
carries a `Watch`: whether it was decided late only (a gentle impact), its rule at 10 s and its rule after
the longer watch, read off the same 50 Hz samples the detector saw (`Tape`).
"""

from __future__ import annotations

import numpy as np

from hub.detect.fall.decision import Rule
from hub.detect.fall.detector import Assessment, FallParams
from hub.detect.fall.phases import STAY_S, gentle, impulse, post_window, reseated, stayed_down
from hub.detect.fall.resample import FS, _Resampler

# (decided only after the longer watch: a gentle impact, the rule at 10 s, the rule after the longer watch)
Watch = tuple[bool, Rule, Rule]


class Tape:
    """The 50 Hz samples a detector at `rate` sees (the same resampler), kept whole."""

    def __init__(self, rate: float) -> None:
        self._rs = _Resampler(rate)
        self._parts: list[np.ndarray] = []

    def push(self, acc: np.ndarray) -> None:
        new = self._rs.push(np.asarray(acc, dtype=np.float64).reshape(-1, 3))
        if len(new):
            self._parts.append(new)

    def samples(self) -> np.ndarray:
        return np.concatenate(self._parts) if self._parts else np.zeros((0, 3))


def watches(tape: Tape, found: list[Assessment], params: FallParams, origin: float = 0.0) -> list[Watch]:
    """A `Watch` for each impact candidate in `found` (collapses left out), in order."""
    acc = tape.samples()
    mag = np.sqrt(np.einsum("ij,ij->i", acc, acc))
    up = np.asarray(params.up_axis, dtype=np.float64)
    decide_n, stay_n = round(params.decide_after_s * FS), round(STAY_S * FS)
    out: list[Watch] = []
    for a in found:
        if a.kind == "collapse":
            continue
        p = round((a.impact_t - origin) * FS)
        late = a.t - a.impact_t > params.decide_after_s + 0.5 / FS
        if gentle(impulse(mag, p)):  # as the detector tested it, on the same samples
            out.append((True, None, a.rule))
        elif late:  # watched longer: at 10 s no rule but perhaps "reseated" held
            out.append((False, "reseated" if reseated(acc, up, p, post_window(p, decide_n)) else None, a.rule))
        elif a.rule is None:  # decided at 10 s: what 30 s more would have shown
            end = p + decide_n
            down = end + stay_n <= len(acc) and stayed_down(acc, mag, up, end, end + stay_n)
            out.append((False, None, "still_down" if down else "got_up"))
        else:
            out.append((False, a.rule, a.rule))
    return out
