"""The learned routine behind the inactivity limits: how long this resident's gaps last after each
kind of activity at each time of day (samples in 24 hourly bins per source, and for all sources
together, forgotten after `learn_days`), and when they usually get up. From these it answers the
detector's two questions: how long a gap starting now may last (`expectation`), and when the
morning check falls due (`morning_due`). It also holds the persisted history (`to_dict`/`load`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from hub.detect.inactivity.bedtime import Bedtimes
from hub.detect.inactivity.params import Params

Basis = Literal["learned", "fallback"]
Kind = Literal["rest", "onset", "other"]
ALL = "*"  # bin of every source, the fallback when a source has too few samples
ONSET = "*onset"  # bin of every onset source (`source_kind`): their prior
DAY = 1440  # minutes
MORNING_SPAN_MIN = 12 * 60  # a first activity later than this after the anchor is not "getting up"
MORNING_GAP_MIN = 60.0  # a quiet this long, begun in the night window after the anchor, was more sleep
ONSET_KINDS = frozenset("DEFM")  # door/cupboard contact, appliance, flush, motion (PIR)


def source_kind(source: str) -> Kind:
    """What an activity says about the moments after it, from the source's name.

    Named `<KIND>-<place>-<name>:<STATE>` (the event-log convention, ../shared/data/README.md):
    "rest" a pressure mat (bed, seat) going ON: someone lies or sits down, a long quiet is normal;
    "onset" a contact, appliance, flush or motion sensor going ON: the resident is in the middle of
    doing something (a door opened is closed again, a tap runs), so a long silence right after is
    unusual even in the evening. Anything else (OFF, or names like "pir", "button:17"): "other".
    """
    name, _, state = source.rpartition(":")
    kind, dash, _ = name.partition("-")
    if state != "ON" or not dash or len(kind) != 1:
        return "other"
    if kind == "P":
        return "rest"
    return "onset" if kind in ONSET_KINDS else "other"


def shrunk_quantile(own: list[float], pool: list[float], risk: float, weight: float,
                    kind: list[float] | None = None, cover_own: bool = True) -> float:
    """Smallest x with P(gap > x) <= risk, P estimated from this source's gaps shrunk towards a prior.

    P_s(>x) = (N_own(>x) + weight * F_prior(>x)) / (n_own + weight): a source seen rarely borrows the
    prior's tail; one seen often with only short gaps earns a short limit. The prior is every gap at
    this time of day (the pool), or, given `kind` (gaps after the same kind of activity), those shrunk
    in turn towards the pool: F_prior(>x) = (N_kind(>x) + weight * F_pool(>x)) / (n_kind + weight).
    Every gap this source has had is covered (x >= its longest): one of them may be routine that is
    simply rare. Lists sorted ascending; pool not empty.
    """
    budget = risk * (len(own) + weight)
    kind = kind or []

    def over(values: list[float], x: float) -> int:
        return len(values) - bisect_right(values, x)

    def ok(x: float) -> bool:
        prior = (over(kind, x) + weight * over(pool, x) / len(pool)) / (len(kind) + weight)
        return over(own, x) + weight * prior <= budget

    floor = own[-1] if own and cover_own else 0.0
    candidates = sorted({floor} | {v for v in own if v > floor} | {v for v in pool if v > floor}
                        | {v for v in kind if v > floor})
    lo, hi = 0, len(candidates) - 1  # the largest candidate always passes: nothing is above it
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(candidates[mid]):
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo]


class Routine:
    """The learned gaps and mornings; `first_seen` (the first activity ever) says whether enough
    history exists to trust them."""

    def __init__(self, params: Params, tz: tzinfo) -> None:
        self.p = params
        self.tz = tz
        self._bins: dict[str, list[deque[tuple[float, float, float]]]] = {}  # src -> 24 h bins
        self._wakes: deque[tuple[float, float]] = deque()  # (anchor epoch, minutes after anchor)
        self.first_seen: datetime | None = None
        self.bedtimes = Bedtimes(params, tz)  # the bedtime check (bedtime.py)

    def expectation(self, source: str, ts: datetime) -> tuple[float, float | None, Basis]:
        """(limit in s, learned longest normal gap in s or None, basis) for a gap starting now."""
        p = self.p
        tod = self._tod(ts)
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

    def early_limit(self, source: str, ts: datetime, limit: float) -> float:
        """The first, short threshold: when to ask "您还好吗？" (an answer costs a press, an alarm a
        visit). Learned like the limit but from a budget of `early_checks_per_day` (the risk per gap is
        that budget over the gaps a day has in this window), with `early_margin`/`early_margin_min`, and
        not covering the source's longest gap; bounded below by `early_day_min_min` (day) or
        `early_night_min_h`, above by `limit`; no start-up floor (a check is cheap), but none before
        enough history exists."""
        p = self.p
        if p.early_checks_per_day <= 0:
            return limit
        tod = self._tod(ts)
        night = p.in_night(tod)
        # In the evening before the night window anything but an onset may be the last thing before bed.
        evening = (p.night_start_min - tod) % DAY < p.evening_h * 60 and source_kind(source) != "onset"
        lo = p.early_night_min_h * 3600 if night or evening else p.early_day_min_min * 60
        since = ts.timestamp() - p.learn_days * 86400
        # Not widened like the limit's pool (`_width`): a threshold from other hours' short gaps asks at
        # every sleep (tried: ordonez_a 12.7 -> 19 checks per 30 d).
        pool = sorted(self._window(ALL, tod, since))
        if self.days_learned(ts) < p.learn_min_days or len(pool) < p.min_samples:
            return limit  # not learned yet: checks would come at every other nap
        own = sorted(self._window(source, tod, since))
        kin = sorted(self._window(ONSET, tod, since)) if source_kind(source) == "onset" else []
        # The budget of checks per day, shared evenly by the day's windows: at the pool's rate of gaps
        # per day in this window, a gap may cross the threshold with probability `risk`.
        days = min(self.days_learned(ts), float(p.learn_days))
        windows = 24 / (2 * p.window_h)
        risk = min(1.0, p.early_checks_per_day * days / (windows * len(pool)))
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
                "mornings": len(self._wakes), "narrowed_pct": round(pct)}

    def usual_up(self, now: datetime) -> float | None:
        """Latest learned first-activity time, in minutes after the morning anchor (None: too few)."""
        since = now.timestamp() - self.p.learn_days * 86400
        offsets = [off for anchor, off in self._wakes if anchor >= since]
        return max(offsets) if len(offsets) >= self.p.morning_min_days else None

    def sample_count(self) -> int:
        return sum(len(b) for b in self._bins.get(ALL, []))

    def morning_due(self, ts: datetime) -> datetime | None:
        """When the morning check falls due for a gap starting at `ts`: the usual getting-up time
        (plus `morning_margin_min`) after it. A gap that starts in the night window after the anchor
        (back to bed after a visit to the bathroom at 04:30) is judged against this morning's, if that
        is at least `early_day_min_min` away, not tomorrow's."""
        up = self.usual_up(ts)
        if up is None:
            return None
        due = self._anchor_before(ts) + timedelta(minutes=up + self.p.morning_margin_min)
        if not self.p.in_night(self._tod(ts)) or due - ts < timedelta(minutes=self.p.early_day_min_min):
            due += timedelta(days=1)
        return due

    def note_morning(self, ts: datetime, last_ts: datetime) -> None:
        """Today's "up" time, while at home: the first activity since today's anchor, or later the end
        of a long gap (`MORNING_GAP_MIN`) that started in the night window: back to bed after an early
        visit to the bathroom, the resident got up when that sleep ended."""
        anchor = self._anchor_before(ts)
        offset = (ts - anchor).total_seconds() / 60
        fresh = self.first_seen is not None and self.first_seen < anchor
        if not fresh or offset >= MORNING_SPAN_MIN:
            return
        if last_ts < anchor:
            self._wakes.append((anchor.timestamp(), offset))
        elif self._wakes and self._wakes[-1][0] == anchor.timestamp() and self.p.in_night(self._tod(last_ts)) \
                and (ts - last_ts).total_seconds() >= MORNING_GAP_MIN * 60:
            self._wakes[-1] = (anchor.timestamp(), offset)
        since = ts.timestamp() - self.p.learn_days * 86400
        while self._wakes and self._wakes[0][0] < since:
            self._wakes.popleft()

    def add_sample(self, start: datetime, source: str, dur: float) -> None:
        self._store(start.timestamp(), self._tod(start), source, dur)
        self.bedtimes.note(start, source, dur)

    # ---- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        rows = sorted((ts, tod, src, dur) for src, bins in self._bins.items() if not src.startswith("*")
                      for b in bins for ts, tod, dur in b)
        samples = [[round(ts, 1), round(tod, 2), src, round(dur, 1)] for ts, tod, src, dur in rows]
        return {"version": 1, "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "samples": samples, "wakes": [list(w) for w in self._wakes],
                "bedtimes": [list(b) for b in self.bedtimes.rows]}

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
        for row in data.get("wakes", []):
            try:
                self._wakes.append((float(row[0]), float(row[1])))
            except (TypeError, ValueError, IndexError):
                continue
        return kept

    # ---- internals ----------------------------------------------------------------------------
    def _tod(self, ts: datetime) -> float:
        local = ts.astimezone(self.tz)
        return local.hour * 60 + local.minute + local.second / 60

    def _anchor_before(self, ts: datetime) -> datetime:
        local = ts.astimezone(self.tz)
        anchor = local.replace(hour=self.p.morning_anchor_min // 60, minute=self.p.morning_anchor_min % 60,
                               second=0, microsecond=0)
        return anchor if anchor <= local else anchor - timedelta(days=1)

    def _store(self, ts: float, tod: float, source: str, dur: float) -> None:
        hour = int(tod // 60) % 24
        keys = (source, ALL, ONSET) if source_kind(source) == "onset" else (source, ALL)
        for key in keys:
            bins = self._bins.get(key)
            if bins is None:
                bins = self._bins[key] = [deque() for _ in range(24)]
            bins[hour].append((ts, tod, dur))

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
