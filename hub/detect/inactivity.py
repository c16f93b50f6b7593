"""Unusual-inactivity detector: learns how long this resident normally goes without any sign of life.

Pure and clock-injected: it is fed activity (`note`) and time (`tick`) and returns decisions; it never
reads a clock, sleeps or does I/O, so the hub, `hub eval inactivity` and the tests drive the same code.

The rule (docs/detection.md, "Inactivity"):
- Each activity starts a gap. Its limit is learned from past gaps that started after the same kind of
  activity (the source, e.g. "pir:kitchen" or "P-Living-Seat:ON") at a similar time of day: the longest
  such gap in the last `learn_days`, times `margin`, plus `margin_min`. Sitting down in the evening
  predicts a long gap, opening the fridge at noon a short one; a per-hour limit alone would have to
  cover both. Too few samples for the source: all sources at that time of day. Bounded by the day or
  night minimum/maximum (night window by the gap's start time).
- Until `learn_min_days` of history exist: fixed fallback limits (day `fallback_day_h`; night, or a day
  gap whose limit would reach into the night window, `night_max_h`).
- Morning check: if nothing has happened since `morning_anchor`, ask once the usual first-activity time
  (the latest of the learned mornings) plus `morning_margin_min` has passed.
- Presumed out: an exit-door pattern while at home, followed by nothing (activity within
  `exit_settle_s` of the door does not count), suspends the limit until the next activity; no alarm
  (unless `out_limit_h` is set), so leaving without setting away costs nothing and cannot repeat.
- Away mode suspends everything; it clears by command or, if `away_autoclear`, by activity inside
  more than `away_grace_min` after it was set.
- Limit passed: a "check" (ask aloud); no activity within `check_wait_s`: one "alarm" per gap.
Decision times are nominal (when they fell due), so a coarse or jumping clock gives exact delays.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

DecisionKind = Literal["check", "alarm", "answered", "away_cleared"]
Reason = Literal["gap", "morning", "out"]
Basis = Literal["learned", "fallback"]
ALL = "*"  # bin of every source, the fallback when a source has too few samples
DAY = 1440  # minutes
MORNING_SPAN_MIN = 12 * 60  # a first activity later than this after the anchor is not "getting up"


def hhmm_to_min(text: str) -> int:
    """'22:30' -> 1350; raises ValueError naming the bad value."""
    try:
        h, m = text.split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM") from None
    if not (0 <= int(h) < 24 and 0 <= int(m) < 60):
        raise ValueError(f"time {text!r} is not HH:MM between 00:00 and 23:59")
    return value


def shrunk_quantile(own: list[float], pool: list[float], risk: float, weight: float) -> float:
    """Smallest x with P(gap > x) <= risk, P estimated from this source's gaps shrunk towards the pool.

    P_s(>x) = (N_own(>x) + weight * F_pool(>x)) / (n_own + weight): a source seen rarely borrows the
    tail of every gap at this time of day; one seen often with only short gaps earns a short limit.
    Every gap this source has had is covered (x >= its longest): one of them may be routine that is
    simply rare. Both lists sorted ascending; pool not empty.
    """
    budget = risk * (len(own) + weight)

    def ok(x: float) -> bool:
        over_pool = (len(pool) - bisect_right(pool, x)) / len(pool)
        return weight * over_pool <= budget

    floor = own[-1] if own else 0.0
    candidates = sorted({floor} | {v for v in pool if v > floor})
    lo, hi = 0, len(candidates) - 1  # the largest candidate always passes: nothing is above it
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(candidates[mid]):
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo]


@dataclass(frozen=True)
class Params:
    check_wait_s: float = 600.0
    day_min_min: float = 60.0
    day_max_h: float = 10.0
    night_min_h: float = 2.0
    night_max_h: float = 11.5
    night_start_min: int = 22 * 60
    night_end_min: int = 7 * 60
    evening_h: float = 2.0
    fallback_day_h: float = 6.0
    learn_min_days: float = 2.0
    learn_days: int = 28
    window_h: float = 2.0
    min_samples: int = 30
    risk: float = 0.01
    prior_weight: float = 1.0
    margin: float = 1.5
    margin_min: float = 30.0
    morning_anchor_min: int = 4 * 60
    morning_margin_min: float = 30.0
    morning_min_days: int = 5
    exit_group_s: float = 120.0
    exit_settle_s: float = 5.0
    out_limit_h: float = 0.0
    away_autoclear: bool = True
    away_grace_min: float = 10.0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Params:
        """From the validated [inactivity] config table (hub/schema_detect.py)."""
        plain = {k: section[k] for k in cls.__dataclass_fields__ if k in section}
        for key in ("night_start", "night_end", "morning_anchor"):
            if key in section:
                try:
                    plain[f"{key}_min"] = hhmm_to_min(section[key])
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return cls(**plain)

    def in_night(self, tod: float) -> bool:
        start, end = self.night_start_min, self.night_end_min
        return (start <= tod or tod < end) if start > end else (start <= tod < end)


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    at: datetime  # when it fell due (nominal), not when tick() noticed
    last_activity: datetime | None = None
    last_source: str = ""
    gap_s: float = 0.0  # since the last activity, at `at`
    limit_s: float = 0.0  # the gap after which the check fell due
    normal_s: float | None = None  # learned longest normal gap here (None: fallback)
    reason: Reason = "gap"
    basis: Basis = "fallback"
    check_at: datetime | None = None  # for "alarm"/"answered": when the resident was asked


@dataclass(frozen=True)
class Plan:
    check_at: datetime
    limit_s: float
    normal_s: float | None
    reason: Reason
    basis: Basis


class InactivityDetector:
    def __init__(self, params: Params | None = None, tz: tzinfo = UTC) -> None:
        self.p = params or Params()
        self.tz = tz
        self._bins: dict[str, list[deque[tuple[float, float, float]]]] = {}  # src -> 24 h bins
        self._wakes: deque[tuple[float, float]] = deque()  # (anchor epoch, minutes after anchor)
        self.first_seen: datetime | None = None
        self.last_ts: datetime | None = None
        self.last_source = ""
        self._learnable = False  # the running gap may become a sample
        self.out = False  # presumed out (exit-door pattern, then nothing)
        self._door_ts: datetime | None = None
        self.away = False
        self.away_since: datetime | None = None
        self.plan: Plan | None = None
        self._asked: datetime | None = None
        self._alarmed = False

    # ---- inputs -------------------------------------------------------------------------------
    def note(self, ts: datetime, source: str, exit_door: bool = False) -> list[Decision]:
        """An activity. Returns what fell due before it, then "answered" if a check was pending."""
        out = self.tick(ts)
        if self._asked is not None and not self._alarmed and self.plan is not None:
            out.append(self._decision("answered", ts))
        if self.first_seen is None:
            self.first_seen = ts
        if self.away:
            grace = timedelta(minutes=self.p.away_grace_min)
            if not (self.p.away_autoclear and not exit_door and ts - (self.away_since or ts) >= grace):
                return out
            self.away, self.away_since = False, None
            out.append(Decision("away_cleared", ts, last_activity=ts, last_source=source))
            self._learnable = False
        was_out = self.out
        self._update_presence(ts, exit_door)
        if self.last_ts is not None and self._learnable and not was_out and ts > self.last_ts:
            self._add_sample(self.last_ts, self.last_source, (ts - self.last_ts).total_seconds())
        if not was_out and not self.out and self._learnable and self.last_ts is not None:
            self._note_morning(ts)
        self._start_gap(ts, source, learnable=True)
        return out

    def set_away(self, on: bool, ts: datetime) -> None:
        """Away mode: suspends checks and alarms. Clearing restarts the timer from `ts`."""
        if on == self.away:
            return
        self.away, self.away_since = on, (ts if on else None)
        if on:
            self.plan, self._asked, self._alarmed, self._learnable = None, None, False, False
        else:
            self.out = False
            self._start_gap(ts, "away:cleared", learnable=False)

    def restart(self, ts: datetime) -> None:
        """The hub (re)started: what happened while it was off is unknown, so count from now."""
        if self.first_seen is None:
            self.first_seen = ts
        if not self.away:
            self._start_gap(ts, "hub:start", learnable=False)

    def shift(self, delta: timedelta) -> None:
        """The wall clock was stepped (NTP at boot): move the running gap with it."""
        if self.last_ts is not None:
            self.last_ts += delta
        if self.plan is not None:
            self.plan = Plan(self.plan.check_at + delta, self.plan.limit_s, self.plan.normal_s,
                             self.plan.reason, self.plan.basis)
        if self._asked is not None:
            self._asked += delta

    def tick(self, now: datetime) -> list[Decision]:
        """Decisions that fell due up to `now` ("check", then "alarm" after the wait), each once."""
        out: list[Decision] = []
        if self.plan is None or self._alarmed:
            return out
        if self._asked is None and now >= self.plan.check_at:
            self._asked = self.plan.check_at
            out.append(self._decision("check", self._asked))
        if self._asked is not None:
            alarm_at = self._asked + timedelta(seconds=self.p.check_wait_s)
            if now >= alarm_at:
                self._alarmed = True
                out.append(self._decision("alarm", alarm_at))
        return out

    @property
    def asking(self) -> bool:
        """A check was spoken and is waiting for an answer."""
        return self._asked is not None and not self._alarmed

    def next_alarm_at(self) -> datetime | None:
        """When the alarm falls due if nothing happens from now on (None: never, e.g. away)."""
        if self.plan is None or self._alarmed:
            return None
        return (self._asked or self.plan.check_at) + timedelta(seconds=self.p.check_wait_s)

    # ---- learned routine ----------------------------------------------------------------------
    def expectation(self, source: str, ts: datetime) -> tuple[float, float | None, Basis]:
        """(limit in s, learned longest normal gap in s or None, basis) for a gap starting now."""
        p = self.p
        tod = self._tod(ts)
        night = p.in_night(tod)
        lo = p.night_min_h * 3600 if night else p.day_min_min * 60
        hi = p.night_max_h * 3600 if night else p.day_max_h * 3600
        learned = self.first_seen is not None and ts - self.first_seen >= timedelta(days=p.learn_min_days)
        if learned:
            since = ts.timestamp() - p.learn_days * 86400
            pool = sorted(self._window(ALL, tod, since))
            if len(pool) >= p.min_samples:
                own = sorted(self._window(source, tod, since))
                # At night anything can be the last thing before sleep: no source earns a short limit.
                evening = (p.night_start_min - tod) % DAY < p.evening_h * 60
                normal = max(own[-1] if own else 0.0, pool[-1]) if night or evening else \
                    shrunk_quantile(own, pool, p.risk, p.prior_weight)
                limit = min(max(normal * p.margin + p.margin_min * 60, lo), hi)
                return limit, normal, "learned"
        if night or p.fallback_day_h * 60 > (p.night_start_min - tod) % DAY:
            return p.night_max_h * 3600, None, "fallback"
        return min(max(p.fallback_day_h * 3600, lo), hi), None, "fallback"

    def usual_up(self, now: datetime) -> float | None:
        """Latest learned first-activity time, in minutes after the morning anchor (None: too few)."""
        since = now.timestamp() - self.p.learn_days * 86400
        offsets = [off for anchor, off in self._wakes if anchor >= since]
        return max(offsets) if len(offsets) >= self.p.morning_min_days else None

    def sample_count(self) -> int:
        return sum(len(b) for b in self._bins.get(ALL, []))

    # ---- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        rows = sorted((ts, tod, src, dur) for src, bins in self._bins.items() if src != ALL
                      for b in bins for ts, tod, dur in b)
        samples = [[round(ts, 1), round(tod, 2), src, round(dur, 1)] for ts, tod, src, dur in rows]
        return {"version": 1, "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "samples": samples, "wakes": [list(w) for w in self._wakes], "away": self.away,
                "away_since": self.away_since.isoformat() if self.away_since else None}

    def load(self, data: dict[str, Any]) -> int:
        """Restore `to_dict()` output; entries that do not parse are skipped. Returns samples kept."""
        if data.get("version") != 1:
            raise ValueError(f"unknown inactivity history version {data.get('version')!r}")
        if data.get("first_seen"):
            self.first_seen = datetime.fromisoformat(data["first_seen"])
        kept = 0
        for row in data.get("samples", []):
            try:
                ts, tod, src, dur = float(row[0]), float(row[1]), str(row[2]), float(row[3])
            except (TypeError, ValueError, IndexError):
                continue
            if 0 <= tod < DAY and dur >= 0:
                self._store(ts, tod, src, dur)
                kept += 1
        for row in data.get("wakes", []):
            try:
                self._wakes.append((float(row[0]), float(row[1])))
            except (TypeError, ValueError, IndexError):
                continue
        if data.get("away"):
            since = data.get("away_since")
            self.away, self.away_since = True, datetime.fromisoformat(since) if since else None
        return kept

    # ---- internals ----------------------------------------------------------------------------
    def _tod(self, ts: datetime) -> float:
        local = ts.astimezone(self.tz)
        return local.hour * 60 + local.minute + local.second / 60

    def _update_presence(self, ts: datetime, exit_door: bool) -> None:
        """Exit-door patterns flip presumed in/out; activity inside (after the settle time) means in."""
        if exit_door:
            new_pattern = self._door_ts is None or (ts - self._door_ts).total_seconds() > self.p.exit_group_s
            if new_pattern:
                self.out = not self.out
            self._door_ts = ts
        elif self.out and (self._door_ts is None
                           or (ts - self._door_ts).total_seconds() > self.p.exit_settle_s):
            self.out = False

    def _start_gap(self, ts: datetime, source: str, learnable: bool) -> None:
        self.last_ts, self.last_source = ts, source
        self._learnable = learnable and not self.out
        self._asked, self._alarmed = None, False
        self.plan = self._make_plan(ts, source)

    def _make_plan(self, ts: datetime, source: str) -> Plan | None:
        if self.away:
            return None
        if self.out:
            if self.p.out_limit_h <= 0:
                return None
            limit = self.p.out_limit_h * 3600
            return Plan(ts + timedelta(seconds=limit), limit, None, "out", "fallback")
        limit, normal, basis = self.expectation(source, ts)
        plan = Plan(ts + timedelta(seconds=limit), limit, normal, "gap", basis)
        morning = self._morning_due(ts)
        if morning is not None and morning < plan.check_at:
            plan = Plan(morning, (morning - ts).total_seconds(), normal, "morning", "learned")
        return plan

    def _anchor_before(self, ts: datetime) -> datetime:
        local = ts.astimezone(self.tz)
        anchor = local.replace(hour=self.p.morning_anchor_min // 60, minute=self.p.morning_anchor_min % 60,
                               second=0, microsecond=0)
        return anchor if anchor <= local else anchor - timedelta(days=1)

    def _morning_due(self, ts: datetime) -> datetime | None:
        up = self.usual_up(ts)
        if up is None:
            return None
        anchor = self._anchor_before(ts) + timedelta(days=1)
        return anchor + timedelta(minutes=up + self.p.morning_margin_min)

    def _note_morning(self, ts: datetime) -> None:
        """First activity since today's anchor while at home: today's "up" time."""
        assert self.last_ts is not None
        anchor = self._anchor_before(ts)
        offset = (ts - anchor).total_seconds() / 60
        fresh = self.first_seen is not None and self.first_seen < anchor
        if self.last_ts < anchor and fresh and offset < MORNING_SPAN_MIN:
            self._wakes.append((anchor.timestamp(), offset))
            since = ts.timestamp() - self.p.learn_days * 86400
            while self._wakes and self._wakes[0][0] < since:
                self._wakes.popleft()

    def _add_sample(self, start: datetime, source: str, dur: float) -> None:
        self._store(start.timestamp(), self._tod(start), source, dur)

    def _store(self, ts: float, tod: float, source: str, dur: float) -> None:
        hour = int(tod // 60) % 24
        for key in (source, ALL):
            bins = self._bins.get(key)
            if bins is None:
                bins = self._bins[key] = [deque() for _ in range(24)]
            bins[hour].append((ts, tod, dur))

    def _window(self, key: str, tod: float, since: float) -> list[float]:
        bins = self._bins.get(key)
        if bins is None:
            return []
        width = self.p.window_h * 60
        first, last = int((tod - width) // 60), int((tod + width) // 60)
        found: list[float] = []
        for h in range(first, last + 1):
            b = bins[h % 24]
            while b and b[0][0] < since:  # older than the learning window: forget
                b.popleft()
            for _, t, dur in b:
                if min(abs(t - tod), DAY - abs(t - tod)) <= width:
                    found.append(dur)
        return found

    def _decision(self, kind: DecisionKind, at: datetime) -> Decision:
        assert self.plan is not None and self.last_ts is not None
        return Decision(kind, at, last_activity=self.last_ts, last_source=self.last_source,
                        gap_s=(at - self.last_ts).total_seconds(), limit_s=self.plan.limit_s,
                        normal_s=self.plan.normal_s, reason=self.plan.reason, basis=self.plan.basis,
                        check_at=self._asked)
