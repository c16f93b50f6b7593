"""Is someone else in the flat? Evidence of a second person pauses the resident's inactivity checks
and the fall radar's alarms (the radar sees whoever falls, sits or lies; a visitor can help) and
resumes them when the visitor has gone.

A second person, from the sensors a home has (names `<KIND>-<place>-<name>:<STATE>`, as in
hub/detect/inactivity/routine.py):
- motion in two different places within `rooms_s` (5 s): nobody crosses a flat that fast;
- motion in one place while a bed or seat mat in another place has been occupied for `mat_settled_s`
  and is still occupied `mat_settled_s` after the motion (the resident sits, someone else walks; a
  mat that is left goes OFF first);
- the exit door opened while a mat has been occupied for `mat_settled_s` (someone opened it from
  outside: the resident is sitting or lying).
The visitor has gone at the first exit-door event more than `leave_after_s` after the last evidence,
or `hold_min` (60 min) after the last evidence with none since. Pure and clock-injected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


def place_of(source: str) -> tuple[str, str, str]:
    """'M-Kitchen-Cooktop:ON' -> ('M', 'kitchen', 'ON'); ('', '', state) for other names."""
    name, _, state = source.rpartition(":")
    parts = name.split("-")
    if len(parts) >= 3 and len(parts[0]) == 1:
        return parts[0], parts[1].lower(), state
    return "", "", state


@dataclass
class Visitors:
    rooms_s: float = 5.0
    mat_settled_s: float = 60.0
    leave_after_s: float = 60.0
    hold_min: float = 60.0
    present: bool = False
    since: datetime | None = None
    last_evidence: datetime | None = None
    _motion: dict[str, datetime] = field(default_factory=dict)  # place -> last motion ON
    _mats: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # occupied: sensor -> (since, place)
    _pending: list[tuple[datetime, str]] = field(default_factory=list)  # (motion, its place) to confirm

    def note(self, ts: datetime, source: str, exit_door: bool) -> str | None:
        """One activity, in time order. Returns "arrived", "left" or None."""
        change = self.tick(ts)
        kind, place, state = place_of(source)
        name = source.rpartition(":")[0]
        if exit_door:
            if self.present and self.last_evidence is not None \
                    and (ts - self.last_evidence).total_seconds() > self.leave_after_s:
                return self._left()
            if state == "ON" and self._settled_mat(ts, ""):
                return self._evidence(ts) or change
            return change
        if kind == "P":
            if state == "ON":
                self._mats.setdefault(name, (ts, place))
            else:
                self._mats.pop(name, None)  # pending motions are confirmed against the mats left
            return change
        if kind != "M" or state != "ON":
            return change
        near = [p for p, t in self._motion.items() if p != place and (ts - t).total_seconds() <= self.rooms_s]
        self._motion[place] = ts
        if near:
            return self._evidence(ts) or change
        if self._settled_mat(ts, place):
            self._pending.append((ts, place))
        return change

    def tick(self, now: datetime) -> str | None:
        """Confirms pending mat evidence and ends a visit whose evidence is `hold_min` old."""
        change = None
        ready = [(t, p) for t, p in self._pending if (now - t).total_seconds() >= self.mat_settled_s]
        self._pending = [(t, p) for t, p in self._pending if (now - t).total_seconds() < self.mat_settled_s]
        for t, p in ready:
            if self._settled_mat(t + timedelta(seconds=self.mat_settled_s), p):
                change = self._evidence(t + timedelta(seconds=self.mat_settled_s)) or change
        if self.present and self.last_evidence is not None \
                and now - self.last_evidence >= timedelta(minutes=self.hold_min):
            return self._left()
        return change

    def left_at(self) -> datetime | None:
        """When the visit ends by time if no new evidence comes."""
        if not self.present or self.last_evidence is None:
            return None
        return self.last_evidence + timedelta(minutes=self.hold_min)

    def _settled_mat(self, ts: datetime, other_than: str) -> bool:
        return any(p != other_than and (ts - since).total_seconds() >= self.mat_settled_s
                   for since, p in self._mats.values())

    def _evidence(self, ts: datetime) -> str | None:
        self.last_evidence = ts
        if self.present:
            return None
        self.present, self.since = True, ts
        return "arrived"

    def _left(self) -> str:
        self.present, self.since, self.last_evidence = False, None, None
        self._pending.clear()
        return "left"
