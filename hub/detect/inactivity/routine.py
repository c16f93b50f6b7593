"""The learned routine behind the inactivity limits: how long this resident's gaps last after each
kind of activity at each time of day (samples in 24 hourly bins per source, and for all sources
together, forgotten after `learn_days`), and when they usually get up (mornings.py) and go to bed
(bedtime.py). From these it answers the detector's questions: how long a gap starting now may last
(`expectation`), when to ask first (`early_limit`), and when the morning check falls due
(`morning_due`). It also holds the persisted history (`to_dict`/`load`). What a source's name says is
kinds.py, the statistic quantile.py.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, tzinfo
from typing import Any, Literal

from hub.detect.inactivity.anchored import minute_of_day
from hub.detect.inactivity.bedtime import Bedtimes
from hub.detect.inactivity.kinds import Kind as Kind  # re-exported
from hub.detect.inactivity.kinds import source_kind as source_kind  # re-exported
from hub.detect.inactivity.mornings import Mornings
from hub.detect.inactivity.pacing import CheckPace
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.quantile import shrunk_quantile as shrunk_quantile  # re-exported

Basis = Literal["learned", "fallback"]
ALL = "*"  # bin of every source, the fallback when a source has too few samples
ONSET = "*onset"  # bin of every onset source (`source_kind`): their prior
UP = "*up"  # bin of every gap begun off every mat: the prior of a gap out of bed at night (`_up_at_night`)
DAY = 1440  # minutes


class Routine:
    """The learned gaps and mornings; `first_seen` (the first activity ever) says whether enough
    history exists to trust them."""

    def __init__(self, params: Params, tz: tzinfo) -> None:
        self.p = params
        self.tz = tz
        self._bins: dict[str, list[deque[tuple[float, float, float]]]] = {}  # src -> 24 h bins
        self.mornings = Mornings(params, tz)  # the morning check (mornings.py)
        self._asked: deque[tuple[float, str]] = deque()  # (gap start epoch, source): checked late
        self.pace = CheckPace(params)  # every check asked: the ceiling on questions (pacing.py)
        self.first_seen: datetime | None = None
        self.bedtimes = Bedtimes(params, tz)  # the bedtime check (bedtime.py)

    def expectation(self, source: str, ts: datetime) -> tuple[float, float | None, Basis]:
        """(limit in s, learned longest normal gap in s or None, basis) for a gap starting now."""
        p = self.p
        tod = minute_of_day(ts, self.tz)
        night = p.in_night(tod)
        lo = p.night_min_h * 3600 if night else p.day_min_min * 60
        hi = p.night_max_h * 3600 if night else p.day_max_h * 3600
        days = self.days_learned(ts)
        if days >= p.learn_min_days:
            since = ts.timestamp() - p.learn_days * 86400
            width = self._width(tod, since)
            pool = sorted(self._window(ALL, tod, since, width))
            if len(pool) >= p.min_samples:
                own = sorted(self._window(source, tod, since, width))
                kind = source_kind(source)
                # At night anything can be the last thing before sleep: no source earns a short limit;
                # in the evening neither, unless it is an onset (nobody falls asleep mid-way through
                # opening a cupboard: the closing comes first).
                evening = (p.night_start_min - tod) % DAY < p.evening_h * 60 and kind != "onset"
                # ... unless this home's own nights say otherwise: a source no sleep has begun after
                # (`never_slept_after`) is judged as by day (its own longest gap covered, x margin).
                # ... nor out of bed at night (a bed mat says so): judged as by day, against the home's
                # silences off every mat rather than its sleeps in bed.
                up = self._up_at_night(source, ts, since)
                if up:
                    pool = self._prior_up(tod, since, width)
                if (night or evening) and (up or self.never_slept_after(source, since)):
                    night = evening = False
                # An onset's prior is the gaps after any onset (a cupboard opened is closed again),
                # themselves shrunk towards every gap; other kinds take every gap as their prior.
                kin = sorted(self._window(ONSET, tod, since, width)) if kind == "onset" else []
                normal = max(own[-1] if own else 0.0, pool[-1]) if night or evening else \
                    shrunk_quantile(own, pool, p.risk, p.prior_weight, kin)
                # Young history: the resident's longest sits and naps may not have happened yet. The
                # floor starts at the conservative start-up limit and narrows to `lo` over settle_days.
                trust = min(1.0, (days - p.learn_min_days) / max(p.settle_days - p.learn_min_days, 1e-9))
                floor = lo + (self._start_limit(tod) - lo) * (1.0 - trust)
                limit = min(max(normal * p.margin + p.margin_min * 60, floor), hi)
                return limit, normal, "learned"
        return self._start_limit(tod), None, "fallback"

    def never_slept_after(self, source: str, since: float) -> bool:
        """This home's nights since `since` say `source` is not the last thing before sleep: at least
        `morning_min_days` long quiets (`early_night_min_h` or more) begun in the evening or the night
        window were learned, none after `source`, and no check was asked after it then (a check
        answered ends the gap at the press, so a sleep after it would never be learned)."""
        p = self.p
        if any(ts >= since and src == source for ts, src in self._asked):
            return False
        long_s = p.early_night_min_h * 3600

        def sleeps(key: str) -> int:
            return sum(1 for b in self._bins.get(key, []) for ts, tod, dur in b
                       if ts >= since and dur >= long_s and self._late(tod))

        return sleeps(source) == 0 and sleeps(ALL) >= p.morning_min_days

    def _up_at_night(self, source: str, ts: datetime, since: float) -> bool:
        """A gap after `source` (not a rest) starting at `ts` is the resident out of bed at night
        (`Bedtimes.out_of_bed`), and no check was asked after `source` in the evening or at night since
        `since` (as `never_slept_after`: a resident who dozes off in the kitchen chair is not asked
        every night)."""
        if not self.bedtimes.out_of_bed(ts, source_kind(source) == "rest"):
            return False
        return not any(t >= since and src == source for t, src in self._asked)

    def note_asked(self, start: datetime, source: str) -> None:
        """A check was asked about a gap that began at `start` after `source` (`never_slept_after`)."""
        if self._late(minute_of_day(start, self.tz)):
            self._asked.append((start.timestamp(), source))
        since = start.timestamp() - self.p.learn_days * 86400
        while self._asked and self._asked[0][0] < since:
            self._asked.popleft()

    def _late(self, tod: float) -> bool:
        """In the night window or the `evening_h` before it."""
        p = self.p
        return p.in_night(tod) or (p.night_start_min - tod) % DAY < p.evening_h * 60

    def early_limit(self, source: str, ts: datetime, limit: float) -> float:
        """The first, short threshold: when to ask "您还好吗？" (an answer costs a press, an alarm a
        visit). Learned like the limit but from a budget of `early_checks_per_day` (the risk per gap is
        that budget over the gaps a day has in this window), with `early_margin`/`early_margin_min`, and
        not covering the source's longest gap; bounded below by `early_day_min_min` (day) or
        `early_night_min_h`, above by `limit`; no start-up floor (a check is cheap), but none before
        enough history exists."""
        p = self.p
        if p.early_checks_per_day <= 0 or self.pace.over(ts, self.days_learned(ts)):
            return limit
        tod = minute_of_day(ts, self.tz)
        night = p.in_night(tod)
        # In the evening before the night window anything but an onset may be the last thing before bed.
        evening = (p.night_start_min - tod) % DAY < p.evening_h * 60 and source_kind(source) != "onset"
        since = ts.timestamp() - p.learn_days * 86400
        up = self._up_at_night(source, ts, since)  # out of bed at night: not about to fall asleep
        lo = p.early_night_min_h * 3600 if (night or evening) and not up else p.early_day_min_min * 60
        # Not widened like the limit's pool (`_width`): a threshold from other hours' short gaps asks at
        # every sleep (tried: ordonez_a 12.7 -> 19 checks per 30 d). Out of bed at night the prior is
        # widened (`_prior_up`): the bed mat says this is no sleep, and such gaps are few at night.
        every = sorted(self._window(ALL, tod, since))
        if self.days_learned(ts) < p.learn_min_days or len(every) < p.min_samples:
            return limit  # not learned yet: checks would come at every other nap
        pool = self._prior_up(tod, since, p.window_h) if up else every
        own = sorted(self._window(source, tod, since))
        kin = sorted(self._window(ONSET, tod, since)) if source_kind(source) == "onset" else []
        # The budget of checks per day, shared evenly by the day's windows: at the pool's rate of gaps
        # per day in this window, a gap may cross the threshold with probability `risk`.
        days = min(self.days_learned(ts), float(p.learn_days))
        windows = 24 / (2 * p.window_h)
        risk = min(1.0, p.early_checks_per_day * days / (windows * len(every)))
        normal = shrunk_quantile(own, pool, risk, p.prior_weight, kin, cover_own=False)
        return min(max(normal * p.early_margin + p.early_margin_min * 60, lo), limit)

    def _start_limit(self, tod: float) -> float:
        """Before any history: the longest plausible sit or nap then (a day gap that could run into the
        night window gets the night limit)."""
        p = self.p
        if p.in_night(tod) or p.fallback_day_h * 60 > (p.night_start_min - tod) % DAY:
            return p.night_max_h * 3600
        return min(max(p.fallback_day_h * 3600, p.day_min_min * 60), p.day_max_h * 3600)

    def days_learned(self, now: datetime) -> float:
        """Days of history behind the limits (0 before the first activity)."""
        if self.first_seen is None:
            return 0.0
        return max(0.0, (now - self.first_seen).total_seconds() / 86400)

    def progress(self, now: datetime) -> dict[str, Any]:
        """How much has been learned, for `hub status`: days of history, gaps and mornings kept, and
        how far the limits have narrowed from the conservative start (0-100 %)."""
        p = self.p
        days = self.days_learned(now)
        pct = 0.0 if days < p.learn_min_days else \
            100.0 * min(1.0, (days - p.learn_min_days) / max(p.settle_days - p.learn_min_days, 1e-9))
        return {"days": round(min(days, p.learn_days), 1), "gaps": self.sample_count(),
                "mornings": len(self.mornings.rows), "narrowed_pct": round(pct)}

    def usual_up(self, now: datetime) -> float | None:
        """Latest learned getting-up time, minutes after the morning anchor (`Mornings.usual_up`)."""
        return self.mornings.usual_up(now)

    def sample_count(self) -> int:
        return sum(len(b) for b in self._bins.get(ALL, []))

    def morning_due(self, ts: datetime) -> datetime | None:
        """When the morning check falls due for a gap starting at `ts` (`Mornings.due`)."""
        return self.mornings.due(ts)

    def note_morning(self, ts: datetime, last_ts: datetime) -> None:
        """Today's "up" time (`Mornings.note`)."""
        self.mornings.note(ts, last_ts, self.first_seen)

    def add_sample(self, start: datetime, source: str, dur: float) -> None:
        self._store(start.timestamp(), minute_of_day(start, self.tz), source, dur)
        self.bedtimes.note(start, source, dur)

    # ---- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        rows = sorted((ts, tod, src, dur) for src, bins in self._bins.items() if not src.startswith("*")
                      for b in bins for ts, tod, dur in b)
        samples = [[round(ts, 1), round(tod, 2), src, round(dur, 1)] for ts, tod, src, dur in rows]
        return {"version": 1, "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "samples": samples, "wakes": [list(w) for w in self.mornings.rows],
                "bedtimes": [list(b) for b in self.bedtimes.rows],
                "asked": [[round(ts, 1), src] for ts, src in self._asked], "checks": self.pace.to_list()}

    def load(self, data: dict[str, Any]) -> int:
        """Restore the history of `to_dict()` output; entries that do not parse are skipped. Returns
        samples kept."""
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
            if 0 <= tod < DAY and dur >= 0 and not src.startswith("*"):  # "*": internal bins
                self._store(ts, tod, src, dur)
                kept += 1
        self.bedtimes.load(data.get("bedtimes"))
        self.mornings.load(data.get("wakes"))
        self.pace.load(data.get("checks"))
        for row in data.get("asked") or []:
            try:
                self._asked.append((float(row[0]), str(row[1])))
            except (TypeError, ValueError, IndexError):
                continue
        return kept

    # ---- internals ----------------------------------------------------------------------------

    def _store(self, ts: float, tod: float, source: str, dur: float) -> None:
        hour = int(tod // 60) % 24
        kind = source_kind(source)
        keys = (source, ALL) + ((ONSET,) if kind == "onset" else ()) + (() if kind == "rest" else (UP,))
        for key in keys:
            bins = self._bins.get(key)
            if bins is None:
                bins = self._bins[key] = [deque() for _ in range(24)]
            bins[hour].append((ts, tod, dur))

    def _prior_up(self, tod: float, since: float, width: float) -> list[float]:
        """The gaps begun off every mat around `tod`, sorted, widened (doubling, at most 12 h) until
        `min_samples` are in it: the resident out of bed at 03:00 is not asleep in it, and at night
        the home's few such gaps borrow from the evening's. Empty: every gap."""
        while width < 12 and len(self._window(UP, tod, since, width)) < self.p.min_samples:
            width = min(12.0, 2 * width)
        return sorted(self._window(UP, tod, since, width)) or sorted(self._window(ALL, tod, since, width))

    def _width(self, tod: float, since: float) -> float:
        """Hours either side of `tod` whose gaps are pooled: `window_h`, widened (doubling, at most
        12 h, the whole day) while fewer than `min_samples` gaps fall in it: a quiet time of day in a
        sparse home borrows from its neighbours rather than keep the start-up limit for weeks."""
        width = self.p.window_h
        while width < 12 and len(self._window(ALL, tod, since, width)) < self.p.min_samples:
            width = min(12.0, 2 * width)
        return width

    def _window(self, key: str, tod: float, since: float, width_h: float | None = None) -> list[float]:
        bins = self._bins.get(key)
        if bins is None:
            return []
        width = (width_h or self.p.window_h) * 60
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
