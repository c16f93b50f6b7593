"""Heat, cold and rate-of-rise rules over a temperature series, with time passed in (never read).

Pure: `ClimateRules.feed(t, celsius)` takes monotonic seconds and a good reading and returns the
decisions it leads to. The hub turns them into `alarm.heat`, `alarm.cold`, `alarm.fire`
(`cause = "rate_of_rise"`) and their `*_cleared` events.

- heat: every reading >= heat_c for longer than heat_sustain_s; cold: <= cold_c for longer than
  cold_sustain_s. An alarm clears once a reading is hysteresis_c back on the safe side. None in the
  first inhibit_s after power-up (the sustain timer still runs, so a hot flat alarms when it ends).
  While an alarm has not cleared it is raised again at most once per repeat_s.
- rate of rise: the rise over the last window divided by its length reaches a rate (fast or slow
  window). Not inhibited after power-up: a fire does not wait.
- A gap longer than max_gap_s between readings (a sensor fault) restarts all timers and history:
  what happened in between is unknown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

_EPS = 1e-9  # readings are quantised; keep exact edges (3.0 °C/min) on the firing side


@dataclass(frozen=True)
class Thresholds:
    heat_c: float = 35.0
    heat_sustain_s: float = 120.0
    cold_c: float = 12.0
    cold_sustain_s: float = 600.0
    hysteresis_c: float = 1.0
    inhibit_s: float = 900.0
    repeat_s: float = 86400.0
    ror_fast_c_per_min: float = 3.0
    ror_fast_window_s: float = 300.0
    ror_slow_c_per_min: float = 1.0
    ror_slow_window_s: float = 1800.0
    max_gap_s: float = 300.0

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> Thresholds:
        return cls(**{name: float(table[name]) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Decision:
    kind: str  # "heat" | "cold" | "rate_of_rise"
    action: str  # "alarm" | "clear"
    t: float
    temperature_c: float
    threshold: float  # °C for heat/cold, °C per minute for rate of rise
    since: float | None = None  # when the condition began (alarms)
    rate_c_per_min: float | None = None
    window_s: float | None = None
    repeat: bool = False  # raised again after repeat_s without clearing


class _Direction:
    def __init__(self, kind: str, threshold: float, sustain_s: float, hysteresis_c: float, sign: int) -> None:
        self.kind, self.threshold, self.sustain_s = kind, threshold, sustain_s
        self.hysteresis_c, self.sign = hysteresis_c, sign  # sign +1 heat (above is bad), -1 cold
        self.pending_since: float | None = None
        self.active = False
        self.last_alarm: float | None = None

    def beyond(self, celsius: float) -> bool:
        return self.sign * (celsius - self.threshold) >= 0

    def safe(self, celsius: float) -> bool:
        return not self.beyond(celsius) and self.sign * (self.threshold - celsius) >= self.hysteresis_c - _EPS

    def feed(self, t: float, celsius: float, inhibited: bool, repeat_s: float) -> Decision | None:
        self.pending_since = (
            (self.pending_since if self.pending_since is not None else t) if self.beyond(celsius) else None
        )
        if self.active and self.safe(celsius):
            self.active = False
            return Decision(self.kind, "clear", t, celsius, self.threshold)
        if self.pending_since is None or inhibited or t - self.pending_since <= self.sustain_s:
            return None
        if not self.active:
            self.active, self.last_alarm = True, t
            return Decision(self.kind, "alarm", t, celsius, self.threshold, since=self.pending_since)
        if self.last_alarm is not None and t - self.last_alarm >= repeat_s:
            self.last_alarm = t
            return Decision(
                self.kind, "alarm", t, celsius, self.threshold, since=self.pending_since, repeat=True
            )
        return None


class ClimateRules:
    def __init__(self, thresholds: Thresholds, started_at: float) -> None:
        self.th = thresholds
        self.started_at = started_at
        self.heat = _Direction(
            "heat", thresholds.heat_c, thresholds.heat_sustain_s, thresholds.hysteresis_c, +1
        )
        self.cold = _Direction(
            "cold", thresholds.cold_c, thresholds.cold_sustain_s, thresholds.hysteresis_c, -1
        )
        self.ror_active = False
        self._history: deque[tuple[float, float]] = deque()
        self._last_t: float | None = None

    def feed(self, t: float, celsius: float) -> list[Decision]:
        if self._last_t is not None and t - self._last_t > self.th.max_gap_s:
            self.heat.pending_since = self.cold.pending_since = None
            self._history.clear()
        self._last_t = t
        inhibited = t - self.started_at < self.th.inhibit_s
        out = [
            d
            for d in (
                self.heat.feed(t, celsius, inhibited, self.th.repeat_s),
                self.cold.feed(t, celsius, inhibited, self.th.repeat_s),
            )
            if d is not None
        ]
        ror = self._rate_of_rise(t, celsius)
        if ror is not None and not self.ror_active:
            self.ror_active = True
            rate, window, threshold = ror
            out.append(
                Decision(
                    "rate_of_rise",
                    "alarm",
                    t,
                    celsius,
                    threshold,
                    since=t - window,
                    rate_c_per_min=rate,
                    window_s=window,
                )
            )
        elif ror is None and self.ror_active:
            self.ror_active = False
            out.append(Decision("rate_of_rise", "clear", t, celsius, self.th.ror_fast_c_per_min))
        return out

    def _rate_of_rise(self, t: float, celsius: float) -> tuple[float, float, float] | None:
        """(rate °C/min, window s, threshold) of the first window whose rate is reached, else None."""
        self._history.append((t, celsius))
        longest = max(self.th.ror_fast_window_s, self.th.ror_slow_window_s)
        # keep one sample at or before the longest window's start: it is that window's reference
        while len(self._history) >= 2 and self._history[1][0] <= t - longest:
            self._history.popleft()
        for window, threshold in (
            (self.th.ror_fast_window_s, self.th.ror_fast_c_per_min),
            (self.th.ror_slow_window_s, self.th.ror_slow_c_per_min),
        ):
            reference = None
            for sample in self._history:
                if sample[0] > t - window + _EPS:
                    break
                reference = sample
            if reference is None:
                continue  # not a full window of readings yet
            span = t - reference[0]
            rate = (celsius - reference[1]) * 60.0 / span
            if rate >= threshold - _EPS:
                return rate, span, threshold
        return None
