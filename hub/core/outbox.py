"""The durable outbox: every event is on disk before anyone is told it was sent.

SQLite in WAL mode with synchronous=FULL, so a committed row survives a power cut. A row leaves only
when the broker's PUBACK for it arrives. Delivery order is priority, then FIFO (the row's seq, which
is also the envelope's per-hub `seq` and never goes backwards: AUTOINCREMENT never reuses a value).
All methods are blocking; the hub calls them through one worker thread (see hub.core.app).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.core.events import Event, Priority, event_topic
from hub.core.lightweight import import_without_optional

# sqlite-utils tries `import numpy` only to map numpy column types, which the outbox never stores;
# on an idle hub that would be ~17 MB of a 45 MB budget, so keep that optional import out.
sqlite_utils = import_without_optional("sqlite_utils", blocked=("numpy", "pandas"))

CHECKPOINT_EVERY = 2000  # deleted rows between WAL checkpoints

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    type TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, seq);
"""


@dataclass(frozen=True)
class Row:
    seq: int
    id: str
    priority: int
    type: str
    topic: str
    payload: str


class Outbox:
    def __init__(self, path: Path, hub_id: str, topic_base: str, max_rows: int = 200_000) -> None:
        self.path = path
        self.hub_id = hub_id
        self.topic_base = topic_base
        self.max_rows = max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the worker thread; the lock makes stray cross-thread use safe.
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self.db = sqlite_utils.Database(self._conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        # Checkpoints run from remove(), off the path of a new event's commit (see there).
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._since_checkpoint = 0
        self._conn.executescript(SCHEMA)
        (self._count,) = self._conn.execute("SELECT count(*) FROM outbox").fetchone()
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        self._next_seq = (row[0] if row else 0) + 1
        self._closed = False

    def add(self, event: Event) -> Row:
        """Commit the event; returns its row (with the envelope's seq) once it is on disk."""
        topic = event_topic(self.topic_base, event.type)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                # One writer (this object), so the next seq is known before the insert and goes
                # straight into the payload; AUTOINCREMENT keeps it from ever going backwards.
                seq = self._next_seq
                payload = event.payload(self.hub_id, seq)
                self._conn.execute(
                    "INSERT INTO outbox (seq, id, priority, type, topic, payload, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (seq, event.id, int(event.priority), event.type, topic, payload, time.time()))
                evicted = self._evict_locked()
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._count += 1 - evicted
            self._next_seq = seq + 1
        return Row(seq, event.id, int(event.priority), event.type, topic, payload)

    def _evict_locked(self) -> int:
        excess = self._count + 1 - self.max_rows
        if excess <= 0:
            return 0
        # Only telemetry may go; calls, alarms and measurements stay however full the queue is.
        cur = self._conn.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE priority = ? "
            "ORDER BY seq LIMIT ?)", (int(Priority.TELEMETRY), excess))
        return max(cur.rowcount, 0)

    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]:
        """Next rows to send in delivery order, after the (priority, seq) cursor, skipping those in flight."""
        skip = set(exclude)
        n = limit + len(skip)
        cols = "seq, id, priority, type, topic, payload"
        with self._lock:
            if after is None:
                fetched = self._conn.execute(
                    f"SELECT {cols} FROM outbox ORDER BY priority, seq LIMIT ?", (n,)).fetchall()
            else:
                # Two index seeks; a row-value comparison would scan every row ahead of the cursor.
                fetched = self._conn.execute(
                    f"SELECT * FROM (SELECT {cols} FROM outbox WHERE priority = ? AND seq > ? "
                    "ORDER BY seq LIMIT ?) UNION ALL "
                    f"SELECT * FROM (SELECT {cols} FROM outbox WHERE priority > ? "
                    "ORDER BY priority, seq LIMIT ?)", (after[0], after[1], n, after[0], n)).fetchall()
        rows = sorted((Row(*r) for r in fetched), key=lambda r: (r.priority, r.seq))
        return [r for r in rows if r.id not in skip][:limit]

    def remove(self, ids: Iterable[str]) -> int:
        """Drop delivered rows (PUBACK seen), as one transaction for the batch.

        Deletes commit without their own fsync (synchronous=NORMAL): losing one to a power cut only
        re-sends an event the platform de-duplicates by id, and the next insert's FULL commit syncs
        the WAL anyway. That keeps a delivered row's clean-up from delaying the next call.
        """
        batch = [(i,) for i in ids]
        if not batch:
            return 0
        with self._lock:
            self._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                cur = self._conn.executemany("DELETE FROM outbox WHERE id = ?", batch)
                self._conn.execute("COMMIT")
            finally:
                self._conn.execute("PRAGMA synchronous=FULL")
            self._count -= cur.rowcount
            self._since_checkpoint += cur.rowcount
            if self._since_checkpoint >= CHECKPOINT_EVERY or self._count == 0:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._since_checkpoint = 0
        return cur.rowcount

    def depth(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT priority, count(*) FROM outbox GROUP BY priority").fetchall()
        counts = {p.name.lower(): 0 for p in Priority}
        for priority, n in rows:
            counts[Priority(priority).name.lower()] = n
        return counts

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._lock:
                self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
