"""A queued row as the uplink sees it, and what a queue must offer it (hub.core.outbox, hub.core.store)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")
# Extra writes committed in the same transaction as an event (hub.alarms.store: open-alarm state).
StateChange = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Row:
    seq: int
    id: str
    priority: int
    type: str
    topic: str
    payload: str


class RowSource(Protocol):
    """What the uplink needs from a queue: rows to send in order, a way to drop delivered ones, and the
    counts of queued rows by priority (kept in memory: no query)."""

    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]: ...

    def remove(self, rows: Iterable[Row]) -> int: ...

    def depth(self) -> dict[str, int]: ...
