"""Unusual-inactivity detector: learns how long this resident normally goes without any sign of life.

Pure and clock-injected (`note` activity, `tick` time, decisions back; no clock, sleep or I/O), so the
hub, `hub eval inactivity` and the tests drive the same code.

The rule (docs/detection.md, "Inactivity"; the statistics in `routine.py`):
- Each activity starts a gap whose limit is learned from past gaps after the same source at a similar
  time of day (sitting down in the evening predicts a long gap, opening the fridge at noon a short one),
  shrunk towards all sources (an "onset" first towards every onset); bounded by day/night limits.
- While a pressure mat is occupied (P-...:ON until its OFF) every gap is learned and judged as that
  rest, whatever else fires meanwhile (`rests.py`); an OFF and ON again within
  `mat_hold_s`, nothing between, is a flicker (someone shifting their weight): the rest goes on.
- Until `learn_min_days` of history: fixed fallback limits. A morning check when not up by the usual
  time (routine.py), a bedtime check when not in bed by it (bedtime.py).
- Presumed out (`hub/detect/presence.py`): an exit-door pattern followed by silence suspends the
  limit until evidence of someone inside; away mode suspends everything (cleared by command or, if
  `away_autoclear`, by activity inside more than `away_grace_min` after it was set).
- Limit passed: a "check" (ask aloud), `recheck_after_s` later a "recheck" (again, louder); no activity
  within `check_wait_s` of the first: one "alarm" per gap (the second question never delays it).
Decision times are nominal (when they fell due), so a coarse or jumping clock gives exact delays.
This is the state machine; when a gap's questions fall due is `plans.py`, the learned statistics
`routine.py`, the parameters `params.py`, what it decides `decisions.py` (hub/detect/inactivity/).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from hub.detect.inactivity.decisions import Decision, DecisionKind, Plan
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.params import hhmm_to_min as hhmm_to_min  # re-exported for tests
from hub.detect.inactivity.plans import make_plan
from hub.detect.inactivity.rests import Resting, context_of, note_rest
from hub.detect.inactivity.routine import Basis, Routine
from hub.detect.inactivity.routine import shrunk_quantile as shrunk_quantile  # re-exported for tests
from hub.detect.inactivity.rules import Rule
from hub.detect.presence import Presence
from hub.detect.visitors import Visitors


class InactivityDetector:
    def __init__(self, params: Params | None = None, tz: tzinfo = UTC, rules: tuple[Rule, ...] = ()) -> None:
        self.p = params or Params()
        self.tz = tz
        self.rules = rules  # a community's rules for this home (hub/detect/inactivity/rules.py)
        self.scale = 1.0  # the operator's feedback on this home's limits (hub/detect/inactivity/feedback.py)
        self.routine = Routine(self.p, tz)
        self.last_ts: datetime | None = None
        self.last_source = ""
        self._context = ""  # what the running gap is learned under: its source, or the mat in use
        self._resting: Resting = {}  # occupied mats: sensor -> (since, source)
        self._learnable = False  # the running gap may become a sample
        self.presence = Presence(self.p.exit_group_s, self.p.exit_settle_s, self.p.return_window_min * 60,
                                 self.p.return_apart_s)
        self.visitors = Visitors(rooms_s=self.p.visitor_rooms_s, hold_min=self.p.visitor_hold_min)
        self._pending_off: tuple[datetime, str, str] | None = None  # mat OFF held: (ts, sensor, source)
        self.flickers = 0  # mat OFF/ON flickers absorbed
        self.away = False
        self.away_since: datetime | None = None
        self.plan: Plan | None = None
        self._asked: datetime | None = None  # when the first question was asked
        self._rechecked = False  # the second, louder one has been asked
        self._alarmed = False

    # ---- inputs -------------------------------------------------------------------------------
    @property
    def out(self) -> bool:
        """Presumed out (exit-door pattern, then no evidence of anyone inside)."""
        return self.presence.out

    def note(self, ts: datetime, source: str, exit_door: bool = False) -> list[Decision]:
        """An activity. Returns what fell due before it, then "answered" if a check was pending."""
        sensor, _, state = source.rpartition(":")
        pending = self._pending_off
        if pending is not None and sensor == pending[1] and state == "ON" \
                and (ts - pending[0]).total_seconds() <= self.p.mat_hold_s:
            self._pending_off = None  # OFF then ON again, nothing between: the mat flickered
            self.flickers += 1
            return self.tick(ts)
        out = self.tick(ts)
        if self._pending_off is not None:  # something else happened: the resident did get up
            out += self._commit_off()
        if state == "OFF" and self.p.mat_hold_s > 0 and sensor in self._resting and not self.away:
            self._pending_off = (ts, sensor, source)
            return out
        return out + self._note(ts, source, exit_door)

    def _visit(self, change: str | None, ts: datetime, source: str) -> list[Decision]:
        """A visitor arrived (checks and alarms pause, gaps are not learned) or left."""
        kind: DecisionKind = "visitor_arrived" if change == "arrived" else "visitor_left"
        return [] if change is None else [Decision(kind, ts, last_source=source)]

    def _commit_off(self) -> list[Decision]:
        assert self._pending_off is not None
        ts, _, source = self._pending_off
        self._pending_off = None
        return self._note(ts, source, False)

    def _note(self, ts: datetime, source: str, exit_door: bool) -> list[Decision]:
        out = self._due(ts)
        reassured = False
        if self._asked is not None and not self._alarmed and self.plan is not None:
            out.append(self._decision("answered", ts))
            reassured = True
        if self.routine.first_seen is None:
            self.routine.first_seen = ts
        if self.away:
            grace = timedelta(minutes=self.p.away_grace_min)
            if not (self.p.away_autoclear and not exit_door and ts - (self.away_since or ts) >= grace):
                return out
            self.away, self.away_since = False, None
            out.append(Decision("away_cleared", ts, last_activity=ts, last_source=source))
            self._learnable = False
        was_out = self.out
        self.presence.note(ts, source, exit_door)
        if self.p.visitors:
            out += self._visit(self.visitors.note(ts, source, exit_door), ts, source)
        if self.last_ts is not None and self._learnable and not was_out and ts > self.last_ts:
            self.routine.add_sample(self.last_ts, self._context, (ts - self.last_ts).total_seconds())
        if not was_out and not self.out and self._learnable and self.last_ts is not None:
            self.routine.note_morning(ts, self.last_ts)
        note_rest(self._resting, ts, source)
        self.routine.bedtimes.seen(ts, source)
        self._start_gap(ts, source, learnable=True, early=not reassured)
        return out

    def set_away(self, on: bool, ts: datetime) -> None:
        """Away mode: suspends checks and alarms. Clearing restarts the timer from `ts`."""
        if on == self.away:
            return
        self.away, self.away_since = on, (ts if on else None)
        if on:
            self.plan, self._asked, self._alarmed, self._learnable = None, None, False, False
            self._rechecked = False
            self._pending_off = None
        else:
            self.presence.reset()
            self._start_gap(ts, "away:cleared", learnable=False)

    def restart(self, ts: datetime) -> None:
        """The hub (re)started: what happened while it was off is unknown, so count from now."""
        if self.routine.first_seen is None:
            self.routine.first_seen = ts
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
        pending = self._pending_off
        if pending is not None and (now - pending[0]).total_seconds() > self.p.mat_hold_s:
            return self._due(pending[0] + timedelta(seconds=self.p.mat_hold_s)) + self._commit_off() \
                + self._due(now)
        return self._due(now)

    def _due(self, now: datetime) -> list[Decision]:
        out: list[Decision] = []
        left = self.visitors.left_at()
        if left is not None and now >= left:
            out += self._visit(self.visitors.tick(left), left, "visitor:left")
            self._start_gap(left, "visitor:left", learnable=False)
        if self.plan is None or self._alarmed:
            return out
        if self._asked is None and now >= self.plan.check_at:
            self._asked = self.plan.check_at
            self.routine.pace.note(self._asked)
            if self.last_ts is not None:
                self.routine.note_asked(self.last_ts, self._context)
            out.append(self._decision("check", self._asked))
        recheck_at = self._recheck_at()
        if recheck_at is not None and now >= recheck_at:
            self._rechecked = True
            out.append(self._decision("recheck", recheck_at))
        if self._asked is not None:
            alarm_at = self._asked + timedelta(seconds=self.p.check_wait_s)
            if now >= alarm_at:
                self._alarmed = True
                out.append(self._decision("alarm", alarm_at))
        return out

    @property
    def alarmed(self) -> bool:
        """This gap's alarm has gone out."""
        return self._alarmed

    @property
    def asking(self) -> bool:
        """A check was spoken and is waiting for an answer."""
        return self._asked is not None and not self._alarmed

    @property
    def question(self) -> int | None:
        """Which question waits for an answer: 1 the first, 2 the second (louder) one; None: none."""
        return (2 if self._rechecked else 1) if self.asking else None

    def _recheck_at(self) -> datetime | None:
        """When the second question falls due (None: asked already, not asking, or none configured)."""
        wait, again = self.p.check_wait_s, self.p.recheck_after_s
        if self._asked is None or self._alarmed or self._rechecked or not 0 < again < wait:
            return None
        return self._asked + timedelta(seconds=again)

    def next_check_at(self) -> datetime | None:
        """When to tick next for a question (check, recheck) to fall due if nothing happens (a held OFF first)."""
        if self._pending_off is not None:
            return self._pending_off[0] + timedelta(seconds=self.p.mat_hold_s + 1)
        if self.plan is None or self._alarmed:
            return None
        return self.plan.check_at if self._asked is None else self._recheck_at()

    def next_alarm_at(self) -> datetime | None:
        """When the alarm falls due if nothing happens from now on (None: never, e.g. away)."""
        if self._pending_off is not None:  # the held OFF becomes the last activity unless it flickers
            ahead = copy.deepcopy(self)
            ahead.tick(self._pending_off[0] + timedelta(seconds=self.p.mat_hold_s + 1))
            return ahead.next_alarm_at()
        left = self.visitors.left_at()
        if left is not None and self.plan is None and not self.away:  # checks resume when the visit ends
            ahead = copy.deepcopy(self)
            ahead.tick(left)
            return ahead.next_alarm_at()
        if self.plan is None or self._alarmed:
            return None
        return (self._asked or self.plan.check_at) + timedelta(seconds=self.p.check_wait_s)

    # ---- learned routine ----------------------------------------------------------------------
    def expectation(self, source: str, ts: datetime) -> tuple[float, float | None, Basis]:
        """The learned routine's limit for a gap starting now (`Routine.expectation`)."""
        return self.routine.expectation(source, ts)

    def usual_up(self, now: datetime) -> float | None:
        """The learned usual getting-up time (`Routine.usual_up`)."""
        return self.routine.usual_up(now)

    def sample_count(self) -> int:
        return self.routine.sample_count()

    # ---- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {**self.routine.to_dict(), "away": self.away,
                "away_since": self.away_since.isoformat() if self.away_since else None}

    def load(self, data: dict[str, Any]) -> int:
        """Restore `to_dict()` output; entries that do not parse are skipped. Returns samples kept."""
        kept = self.routine.load(data)
        if data.get("away"):
            since = data.get("away_since")
            self.away, self.away_since = True, datetime.fromisoformat(since) if since else None
        return kept

    # ---- internals ----------------------------------------------------------------------------
    def _start_gap(self, ts: datetime, source: str, learnable: bool, early: bool = True) -> None:
        self.last_ts, self.last_source = ts, source
        self._context = context_of(self._resting, ts, source)
        self._learnable = learnable and not self.out and not self.visitors.present
        self._asked, self._rechecked, self._alarmed = None, False, False
        self.plan = self._make_plan(ts, source, early)

    def _make_plan(self, ts: datetime, source: str, early: bool = True) -> Plan | None:
        if self.away or self.visitors.present:
            return None
        return make_plan(self.routine, self.p, self.tz, self.rules, self.scale, ts, source, self._context,
                         self.out, early)

    def _decision(self, kind: DecisionKind, at: datetime) -> Decision:
        assert self.plan is not None and self.last_ts is not None
        return Decision(kind, at, last_activity=self.last_ts, last_source=self.last_source,
                        gap_s=(at - self.last_ts).total_seconds(), limit_s=self.plan.limit_s,
                        normal_s=self.plan.normal_s, reason=self.plan.reason, basis=self.plan.basis,
                        check_at=self._asked)
