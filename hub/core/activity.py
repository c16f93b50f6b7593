"""The activity stream: every sign of life in the home (motion, presses, readings, presence, doors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Activity:
    source: str  # e.g. "pir", "button:17", "ble:bp", "radar", "door:exit"
    ts: datetime
    exit_door: bool = False


Listener = Callable[[Activity], None]


class ActivityStream:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.last: Activity | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def note(self, source: str, ts: datetime, *, exit_door: bool = False) -> None:
        activity = Activity(source, ts, exit_door)
        self.last = activity
        for listener in self._listeners:
            listener(activity)
