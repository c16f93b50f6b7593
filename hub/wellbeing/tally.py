"""One day of the resident's life, counted: pure, fed the way the hub hears it.

A wellbeing day runs from `day_start` (06:00) to the next day's `day_start`, so the night after the day
belongs to it and the summary goes out once she has had her night. What is counted:

- a *sign of life* is every activity (motion, contact, mat, flush, press, reading); a *start* is one that
  begins something: a contact or mat going ON, anything without a state, and a bed mat going OFF
  (getting out of bed). Hourly starts make the heat map.
- `first_activity`: the first sign of life of the day; `settled_at`: the last one before the longest quiet
  stretch that begins after 18:00 (she settled for the night), or the day's last.
- `night_up`: episodes of activity that begin inside the night window after at least 30 min of quiet
  (lying down on the bed is not getting up); `night_bathroom`: bathroom visits that begin in the night.
- `bathroom_visits`: bathroom signs 10 min or more apart start a new visit; `kitchen`: the same at 15 min.
- `out_min`: the exit door, then nothing for 15 min or more, then the exit door again: she was out (a door
  followed by the bed or the toilet was a door closed at home, and the door she came back through does
  not start another outing).
- from the hub's own events: alarms, calls, check-ins, checks, readings (with their grades), recovered
  falls, notices and reminders.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from hub.wellbeing.rooms import Rooms, state_of

EVENING = time(18, 0)
NIGHT_QUIET = timedelta(minutes=30)
BATHROOM_GAP = timedelta(minutes=10)
KITCHEN_GAP = timedelta(minutes=15)
OUT_MIN = timedelta(minutes=15)
DOOR_PASSAGE = timedelta(minutes=2)  # door events this close together are one passage through it

# Hub events that count toward the day: event type -> counter name.
COUNTED = {
    "call.raised": "calls", "checkin.ok": "checkins_answered", "checkin.missed": "checkins_missed",
    "fall.recovered": "falls_recovered", "notice.confirmed": "notices_confirmed",
    "reminder.confirmed": "reminders_confirmed", "reminder.missed": "reminders_missed",
    "inactivity.check": "checks", "inactivity.check_answered": "checks_answered",
}
READINGS = {"measurement.blood_pressure": "bp", "measurement.glucose": "glucose"}


@dataclass(frozen=True)
class Sign:
    ts: datetime
    room: str
    state: str  # "ON" / "OFF" / ""

    @property
    def start(self) -> bool:
        return self.state in ("ON", "") or (self.state == "OFF" and self.room == "bed")


@dataclass
class DayTally:
    start: datetime  # the window, local and aware
    end: datetime
    night_start: time
    night_end: time
    rooms: Rooms = field(default_factory=Rooms)
    covered_from: datetime | None = None  # the hub started (or learned the day) after the window began
    signs: list[Sign] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    readings: list[dict[str, Any]] = field(default_factory=list)

    def note(self, ts: datetime, source: str) -> None:
        if self.start <= ts < self.end:
            self.signs.append(Sign(ts, self.rooms.of(source), state_of(source)))

    def event(self, event_type: str, data: dict[str, Any], ts: datetime) -> None:
        if not self.start <= ts < self.end:
            return
        if event_type.startswith("alarm.") and not event_type.endswith(("_cleared", ".acknowledged")):
            self.counts["alarms"] = self.counts.get("alarms", 0) + 1
        name = COUNTED.get(event_type)
        if name:
            self.counts[name] = self.counts.get(name, 0) + 1
        kind = READINGS.get(event_type)
        if kind:
            self.readings.append(_reading(kind, data, ts))

    # --- the summary -------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        signs = sorted(self.signs, key=lambda s: s.ts)
        starts = [s for s in signs if s.start]
        hourly = [0] * 24
        for s in starts:
            hourly[s.ts.hour] += 1
        night = [s for s in starts if self._in_night(s.ts)]
        bathroom = _visits([s.ts for s in starts if s.room == "bathroom"], BATHROOM_GAP)
        return {
            "date": self.start.date().isoformat(),
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "partial": self.covered_from is not None,
            **({"covered_from": self.covered_from.isoformat()} if self.covered_from else {}),
            "first_activity": _hhmm(signs[0].ts) if signs else None,
            "settled_at": _hhmm(self._settled(signs)) if signs else None,
            "activity": len(starts),
            "hourly": hourly,
            "out_min": round(self._out(signs).total_seconds() / 60),
            "night_up": self._night_episodes(starts),
            "night_bathroom": len([v for v in bathroom if self._in_night(v)]),
            "bathroom_visits": len(bathroom),
            "kitchen": len(_visits([s.ts for s in starts if s.room == "kitchen"], KITCHEN_GAP)),
            "alarms": self.counts.get("alarms", 0),
            "calls": self.counts.get("calls", 0),
            "checks": self.counts.get("checks", 0),
            "checks_answered": self.counts.get("checks_answered", 0),
            "checkins_answered": self.counts.get("checkins_answered", 0),
            "checkins_missed": self.counts.get("checkins_missed", 0),
            "falls_recovered": self.counts.get("falls_recovered", 0),
            "notices_confirmed": self.counts.get("notices_confirmed", 0),
            "reminders_confirmed": self.counts.get("reminders_confirmed", 0),
            "reminders_missed": self.counts.get("reminders_missed", 0),
            "readings": self.readings,
            "night_signs": len(night),
        }

    def _in_night(self, ts: datetime) -> bool:
        t = ts.timetz().replace(tzinfo=None)
        if self.night_start <= self.night_end:
            return self.night_start <= t < self.night_end
        return t >= self.night_start or t < self.night_end

    def _night_episodes(self, starts: list[Sign]) -> int:
        episodes, previous = 0, None
        for s in starts:
            lying_down = s.room == "bed" and s.state == "ON"
            if self._in_night(s.ts) and not lying_down and (previous is None or s.ts - previous >= NIGHT_QUIET):
                episodes += 1
            previous = s.ts
        return episodes

    def _settled(self, signs: list[Sign]) -> datetime:
        best, best_gap = signs[-1].ts, self.end - signs[-1].ts
        for a, b in itertools.pairwise(signs):
            local = a.ts.timetz().replace(tzinfo=None)
            evening = local >= EVENING or a.ts.date() > self.start.date()
            if evening and b.ts - a.ts > best_gap:
                best, best_gap = a.ts, b.ts - a.ts
        return best

    def _out(self, signs: list[Sign]) -> timedelta:
        # The door she came back through cannot also be the one she left by: a door, a nap, the door
        # locked at night is not a second outing.
        out, back_until = timedelta(), None
        for a, b in itertools.pairwise(signs):
            returning = back_until is not None and a.ts <= back_until
            if a.room == "exit" and b.room == "exit" and b.ts - a.ts >= OUT_MIN and not returning:
                out += b.ts - a.ts
                back_until = b.ts + DOOR_PASSAGE
        return out


def _visits(times: list[datetime], gap: timedelta) -> list[datetime]:
    visits: list[datetime] = []
    last: datetime | None = None
    for ts in times:
        if last is None or ts - last >= gap:
            visits.append(ts)
        last = ts
    return visits


def _hhmm(ts: datetime) -> str:
    return ts.strftime("%H:%M")


def _reading(kind: str, data: dict[str, Any], ts: datetime) -> dict[str, Any]:
    if kind == "bp":
        return {"kind": "bp", "time": _hhmm(ts), "systolic": data.get("systolic"),
                "diastolic": data.get("diastolic"), "pulse": data.get("pulse"), "grade": data.get("grade")}
    return {"kind": "glucose", "time": _hhmm(ts), "mmol_per_l": data.get("mmol_per_l"),
            "meal": data.get("meal"), "grade": data.get("category")}
