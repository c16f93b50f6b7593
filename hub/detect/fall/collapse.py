"""The collapse watch of `FallDetector`: after a fall the wearer got up from (`fall.recovered`), lying
still again for `COLLAPSE_S` without a break, starting within `REWATCH_S`, is a suspected fall of kind
"collapse" — an injured resident who got up and collapsed. A longer window than a fall's post phase:
lying down to rest lies still for a moment, a collapsed person stays down.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hub.detect.fall.phases import BLOCK, LYING_DEG, STILL_G, angle
from hub.detect.fall.resample import FS

REWATCH_S = 120.0  # after a recovered fall: lying still again within this is a collapse (alarm)...
COLLAPSE_S = 30.0  # ...when it lasts this long


class CollapseWatch:
    """Scans 0.5 s blocks (tilted past `LYING_DEG`, std of |a| below `STILL_G`) from `start` (global
    50 Hz index) on; `scan` returns (global index where it was decided, blocks lying, tilt and std of
    |a| of the last block) once lying still has lasted `COLLAPSE_S`, and ends the watch either way."""

    def __init__(self, up: NDArray[np.float64]) -> None:
        self.up = up
        self.next, self.until = 0, -10**9
        self.blocks = 0

    @property
    def active(self) -> bool:
        return self.until > -10**9

    def start(self, at: int) -> None:
        self.next, self.until, self.blocks = at, at + round(REWATCH_S * FS), 0

    def scan(self, acc: NDArray[np.float64], mag: NDArray[np.float64],
             base: int) -> tuple[int, int, float, float] | None:
        end = base + len(mag)
        while self.next + BLOCK <= end:
            i = self.next - base
            mean = acc[i:i + BLOCK].mean(axis=0)
            std = float(mag[i:i + BLOCK].std())
            self.blocks = self.blocks + 1 if angle(mean, self.up) >= LYING_DEG and std < STILL_G else 0
            self.next += BLOCK
            if not self.blocks and self.next > self.until:
                self.until = -10**9  # the watch is over, and nobody is lying still
                return None
            if self.blocks * BLOCK >= round(COLLAPSE_S * FS):
                self.until = -10**9
                return self.next, self.blocks, min(angle(mean, self.up), 90.0), std
        return None
