"""Is the resident at home? Decided from evidence, not toggled by the exit door.

A toggle (each exit-door pattern flips in/out) turns one missed door event, a return within
minutes or one stray event inside into the wrong state for the rest of the absence, and an absence
taken for "at home" becomes a silence the inactivity detector alarms on. Here:

- out: an exit-door pattern followed by silence (nothing inside after `exit_settle_s`). The door
  alone never means "home": someone who comes back and collapses in the hall is still seen, because
  the gap after a door pattern while at home is judged as "out" only until activity shows otherwise.
- home again: more than one *independent* event — the exit door while out then activity inside, two
  different sensors inside, or the same sensor again after `return_apart_s` — within
  `return_window_s`. The leaving pattern's own door does not count (a late hall PIR as someone
  leaves would otherwise bring them "home"). One stray event (a PIR triggered by
  sunlight, an appliance switching itself off) leaves the resident out. What only a person does is
  enough on its own: a call-button press, a bed/chair mat becoming occupied (someone who comes home
  and sits down for the evening makes no second event), an inside door, fridge or cupboard opened
  or shut by hand (someone who took in the milk at 6 am and went back to bed). An OFF is evidence
  only when a hand made it (a door shut, getting up from a mat), not a motion sensor's hold running
  out or an appliance finishing.
- the exit door while a bed or chair mat is occupied (for less than 16 h) is not the resident
  leaving: they sit or lie, someone else opened it (a visitor, hub/detect/visitors.py).
- away mode (a button hold, the platform) overrides all of this in the detector.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

STRONG_PREFIXES = ("button:", "checkin:")  # a person at the unit itself
HAND_PREFIXES = ("D-", "P-")  # a door or cupboard shut, getting up from a mat: someone did it
MAT_STALE_S = 16 * 3600.0  # a mat occupied longer than this is stuck, not someone sitting


@dataclass
class Presence:
    exit_group_s: float = 120.0
    exit_settle_s: float = 5.0
    return_window_s: float = 1800.0
    return_apart_s: float = 30.0
    out: bool = False
    door_ts: datetime | None = None
    _evidence: dict[str, datetime] = field(default_factory=dict)  # sensor -> last ON while out
    _return_ts: datetime | None = None  # an exit-door pattern while out
    _mats: dict[str, datetime] = field(default_factory=dict)  # occupied mats -> since

    def note(self, ts: datetime, source: str, exit_door: bool) -> None:
        """One activity, in time order."""
        if source.startswith("P-"):  # a bed/chair mat: occupied from ON to OFF
            sensor, _, state = source.rpartition(":")
            (self._mats.__setitem__(sensor, ts) if state == "ON" else self._mats.pop(sensor, None))
        if exit_door and self._seated(ts):
            self.door_ts = ts  # the door opened while the resident sits or lies: someone else's doing
            return
        if exit_door:
            new_pattern = self.door_ts is None or (ts - self.door_ts).total_seconds() > self.exit_group_s
            if not self.out and new_pattern:
                self.out = True  # presumed out until the silence is broken by evidence inside
                self._evidence.clear()
                self._return_ts = None
            elif self.out and new_pattern:
                self._return_ts = ts  # the door while out: someone may have come in
            self.door_ts = ts
            return
        if not self.out:
            return
        if self.door_ts is not None and (ts - self.door_ts).total_seconds() <= self.exit_settle_s:
            return  # the hall sensor as the door shuts behind someone leaving
        if source.startswith(STRONG_PREFIXES) or source.startswith("D-") \
                or (source.startswith("P-") and source.endswith(":ON")):
            self._back()
            return
        sensor, _, state = source.rpartition(":")
        if state == "OFF" and not sensor.startswith(HAND_PREFIXES):
            return  # a motion sensor's hold running out, an appliance finishing: nobody did that
        sensor = sensor or source
        horizon = self.return_window_s
        self._evidence = {s: t for s, t in self._evidence.items() if (ts - t).total_seconds() <= horizon}
        if self._return_ts is not None and (ts - self._return_ts).total_seconds() <= horizon:
            self._back()  # the exit door while out, then activity inside: two events, a return
            return
        others = [s for s in self._evidence if s != sensor]
        previous = self._evidence.get(sensor)
        again = previous is not None and (ts - previous).total_seconds() >= self.return_apart_s
        if others or again:
            self._back()
        elif previous is None:
            self._evidence[sensor] = ts

    def _seated(self, ts: datetime) -> bool:
        return not self.out and any(0 <= (ts - t).total_seconds() <= MAT_STALE_S for t in self._mats.values())

    def reset(self) -> None:
        """At home (away mode cleared: the resident said so)."""
        self._back()

    def _back(self) -> None:
        self.out = False
        self._evidence.clear()
        self._return_ts = None


def absences(events: Iterable[tuple[datetime, str, bool]], presence: Presence | None = None,
             ) -> list[tuple[datetime, datetime]]:
    """When the resident was out, by this model: from the exit-door pattern that made it "out" to the
    event that brought them home (or the last event). `events`: (time, source, exit door) in order.
    The evaluator's ground truth for where no incapacitation can be injected is the detector's own
    model, so a stray event in a long absence does not make the flat "occupied" for either."""
    model = presence or Presence()
    spans: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    last: datetime | None = None
    for ts, source, exit_door in events:
        was_out = model.out
        model.note(ts, source, exit_door)
        if not was_out and model.out:
            start = ts
        elif was_out and not model.out and start is not None:
            spans.append((start, ts))
            start = None
        last = ts
    if start is not None and last is not None and last > start:
        spans.append((start, last))
    return spans
