"""Open alarms on disk: a table in the outbox database, written in the transaction of the event that
opens, changes or closes the alarm (hub.core.outbox.Outbox.add's `state`), so after a power cut the
open-alarm list and the queue always agree.

A closed alarm stays in the table for CLOSED_KEPT_S, its key `closed:<wall-clock seconds>`: after a
restart the ack of the one still open must say which it is if another closed a minute before
(hub.alarms.words). It costs the card nothing: the row was rewritten (deleted) in that transaction
anyway, on the same page, and the closes older than that go in the next close's transaction. Its body
says closed (acknowledged), so a version that knows no such rows closes it at start, as it always did.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.core.events import category_of

log = logging.getLogger(__name__)

TABLE = """
CREATE TABLE IF NOT EXISTS open_alarms (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    body TEXT NOT NULL
)
"""

# Most severe first (hub console lists open alarms in this order; the status carries the rank).
SEVERITY = {"alarm.fire": 0, "alarm.fall": 1, "call.raised:emergency": 1, "alarm.inactivity": 2,
            "health.alert": 3, "alarm.heat": 3, "alarm.cold": 3, "call.raised:health": 4,
            "power.lost": 5, "call.raised:service": 6, "call.raised:family": 6, "power.battery_low": 7,
            "alarm.gas": 0, "alarm.co": 0, "alarm.water": 4}
LOWEST = 8
CLOSED_KEPT_S = 300.0  # a closed alarm is kept this long, for the acks after it (hub.alarms.words)
CLOSED = "closed:"  # the key of a closed alarm's row, followed by when it closed (wall-clock seconds)


def severity(alarm_type: str, kind: str | None = None) -> int:
    return SEVERITY.get(f"{alarm_type}:{kind}", SEVERITY.get(alarm_type, LOWEST))


@dataclass(frozen=True)
class OpenAlarm:
    """One alarm waiting for the platform. Immutable: a change is a new value, swapped in after commit."""

    id: str  # the opening event's id (what `cmd/ack` names)
    type: str  # the opening event's type: call.raised, alarm.fire, health.alert, power.lost, ...
    key: str  # one open alarm per key ("call:17", "fire:smoke", "heat"); a new event with it joins
    since: str  # the opening event's ts
    opened: float  # wall-clock seconds at opening: how long it has waited, across a restart
    facts: dict[str, Any] = field(default_factory=dict)  # for status/console: kind, button, cause...
    lasting: bool = False  # about a condition (fire, heat, cold, mains): open until acked AND cleared
    present: bool = False  # the condition is there now (lasting alarms)
    escalated: bool = False
    acknowledged: bool = False
    by: str | None = None  # who acknowledged
    aliases: tuple[str, ...] = ()  # later events of the same key that joined it (a repeat alarm.heat)

    @property
    def category(self) -> str:
        return category_of(self.type)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    @property
    def closed(self) -> bool:
        return self.acknowledged and not (self.lasting and self.present)

    @property
    def severity(self) -> int:
        return severity(self.type, self.facts.get("kind"))

    def ended(self) -> dict[str, Any]:
        """What an event that ends the condition says of this alarm: which one, and whether the platform
        had taken it already (the console's 已应答 / 未应答; not acked, it stays open until it is)."""
        return {"alarm_id": self.id, "acked": self.acknowledged}

    def but(self, **changes: Any) -> OpenAlarm:
        return replace(self, **changes)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alarm_id": self.id, "type": self.type, "since": self.since,
                               "severity": self.severity, "escalated": self.escalated,
                               "acknowledged": self.acknowledged, **self.facts}
        if self.lasting:
            out["present"] = self.present
        if self.by is not None:
            out["by"] = self.by
        if self.aliases:
            out["also"] = list(self.aliases)
        return out


def load(conn: sqlite3.Connection) -> tuple[list[OpenAlarm], list[tuple[OpenAlarm, float]]]:
    """(open alarms, [(closed alarm, when it closed in wall-clock seconds)])."""
    conn.execute(TABLE)
    out, closed = [], []
    for alarm_id, key, body in conn.execute("SELECT id, key, body FROM open_alarms ORDER BY rowid").fetchall():
        try:
            raw = json.loads(body)
            raw["aliases"] = tuple(raw.get("aliases", ()))
            alarm = OpenAlarm(**raw)
            if str(key).startswith(CLOSED):
                closed.append((alarm, float(key[len(CLOSED):])))
            else:
                out.append(alarm)
        except (ValueError, TypeError) as exc:
            log.error("open alarm %s unreadable in the outbox database (%s): dropped", alarm_id, exc)
            conn.execute("DELETE FROM open_alarms WHERE id = ?", (alarm_id,))
    return out, closed


def write(alarm: OpenAlarm, at: float | None = None) -> Any:
    """The state change that stores `alarm` (or, once closed, marks it closed `at` these wall-clock
    seconds, the closing event's time; deletes it if no time is given), for Outbox.add/transact."""

    def apply(conn: sqlite3.Connection) -> None:
        if alarm.closed and at is None:
            conn.execute("DELETE FROM open_alarms WHERE id = ?", (alarm.id,))
            return
        key = alarm.key
        if alarm.closed and at is not None:
            conn.execute("DELETE FROM open_alarms WHERE key LIKE ? AND CAST(substr(key, ?) AS REAL) < ?",
                         (CLOSED + "%", len(CLOSED) + 1, at - CLOSED_KEPT_S))
            key = f"{CLOSED}{at:.3f}"
        conn.execute("INSERT OR REPLACE INTO open_alarms (id, key, body) VALUES (?, ?, ?)",
                     (alarm.id, key, json.dumps(asdict(alarm), ensure_ascii=False)))
    return apply


def legacy_calls(path: Path) -> list[OpenAlarm]:
    """Open calls from the `open_calls.json` that hubs before the open-alarm table kept."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for item in items:
            since = str(item["ts"])
            out.append(OpenAlarm(
                id=str(item["id"]), type="call.raised", key=f"call:{int(item['button'])}", since=since,
                opened=datetime.fromisoformat(since).timestamp(),
                facts={"kind": str(item["kind"]), "button": int(item["button"])},
                escalated=bool(item.get("escalated", False))))
        return out
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("ignoring unreadable %s (%s): its open calls are not restored", path, exc)
        return []
