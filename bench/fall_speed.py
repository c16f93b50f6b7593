"""Fall detector speed as a multiple of real time on one core (target >= 200x on a Pi Zero 2 W class CPU).

Streams an hour of signal (daily movement with falls mixed in; SisFall trials from ../shared/data if
present, else the simulator's synthetic trace) through FallDetector the way the hub feeds it, and prints
the real-time factor for several delivery patterns. Run: python bench/fall_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.detect.evaluation.falls import find_trials, read_waist_adxl
from hub.detect.fall.detector import FallDetector
from hub.detect.fall.sim import synth_fall_trace

SISFALL = Path(__file__).resolve().parents[2] / "shared" / "data" / "sisfall"


def signal(rate: int, seconds: float) -> np.ndarray:
    parts, total = [], 0
    if rate == 200 and SISFALL.is_dir():
        for trial in find_trials(SISFALL)[::7]:  # a spread of ADLs (incl. jogging) and falls
            acc = read_waist_adxl(trial.path)
            parts.append(acc)
            total += len(acc)
            if total >= seconds * rate:
                break
    while total < seconds * rate:
        acc = synth_fall_trace(rate, seed=len(parts))
        parts.append(acc)
        total += len(acc)
    return np.vstack(parts)[: int(seconds * rate)]


def measure(rate: int, chunk: int, seconds: float = 3600.0) -> tuple[float, int]:
    acc = signal(rate, seconds)
    det = FallDetector(rate)
    assessed = 0
    start = time.process_time()
    for i in range(0, len(acc), chunk):
        assessed += len(det.push(acc[i:i + chunk]))
    cpu = time.process_time() - start
    return len(acc) / rate / cpu, assessed


def main() -> None:
    print("fall detector speed, one core (CPU time):")
    for rate, chunk, what in [(50, 1, "50 Hz wearable, one sample per BLE notification"),
                              (50, 5, "50 Hz wearable, 5 samples per notification"),
                              (200, 200, "200 Hz, 1 s chunks (hub eval fall)")]:
        factor, assessed = measure(rate, chunk)
        print(f"  {what:52s} {factor:8.0f}x real time ({assessed} impacts assessed in 1 h)")


if __name__ == "__main__":
    main()
