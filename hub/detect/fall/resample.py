"""Bin-averaging of a fixed-rate accelerometer stream onto the fall detector's 50 Hz grid."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FS = 50  # the detector's internal sample rate (Hz)


@dataclass
class _Resampler:
    """Bin-averages a fixed-rate input onto the 50 Hz grid; bins with no input repeat the last value."""

    rate: float
    count: int = 0  # input samples seen since the origin
    next_bin: int = 0  # first output bin not yet emitted
    carry: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    carry_n: int = 0
    last: NDArray[np.float64] = field(default_factory=lambda: np.array([0.0, -1.0, 0.0]))

    def push(self, acc: NDArray[np.float64]) -> NDArray[np.float64]:
        n = len(acc)
        ratio = FS / self.rate
        idx = np.floor(np.arange(self.count, self.count + n) * ratio + 1e-9).astype(np.int64) - self.next_bin
        self.count += n
        complete = math.floor(self.count * ratio + 1e-9) - self.next_bin
        size = max(int(idx[-1]) + 1 if n else 1, complete, 1)
        sums = np.stack([np.bincount(idx, weights=acc[:, j], minlength=size) for j in range(3)], axis=1)
        counts = np.bincount(idx, minlength=size).astype(np.float64)
        sums[0] += self.carry
        counts[0] += self.carry_n
        out = np.empty((complete, 3))
        if complete:
            filled = counts[:complete] > 0
            out[filled] = sums[:complete][filled] / counts[:complete][filled, None]
            if not filled.all():  # input slower than 50 Hz: hold the previous value
                prev = self.last
                for k in range(complete):
                    if filled[k]:
                        prev = out[k]
                    else:
                        out[k] = prev
            self.last = out[-1].copy()
        self.carry = sums[complete] if size > complete else np.zeros(3)
        self.carry_n = int(counts[complete]) if size > complete else 0
        self.next_bin += complete
        return out
