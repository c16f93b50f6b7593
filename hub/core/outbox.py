"""The durable outbox: every event is on disk before anyone is told it was sent.

SQLite in WAL mode with synchronous=FULL, so a committed row survives a power cut. A row leaves only
when the broker's PUBACK for it arrives. Delivery order is priority, then FIFO (the row's seq, which
is also the envelope's per-hub `seq` and never goes backwards: AUTOINCREMENT never reuses a value).
All methods are blocking; the hub calls them through one worker thread (see hub.core.app).
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

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
CREATE TABLE IF NOT EXISTS probe (k INTEGER PRIMARY KEY, v REAL NOT NULL);
"""


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
    """What the uplink needs from a queue: rows to send in order, and a way to drop delivered ones."""

    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]: ...

    def remove(self, ids: Iterable[str]) -> int: ...


# SQLite's primary result codes that mean "the card", not "the code" (https://sqlite.org/rescode.html).
_SQLITE_REASONS = {13: "disk_full", 8: "read_only", 10: "io_error", 14: "cannot_open", 11: "corrupt",
                   26: "corrupt"}
_ERRNO_REASONS = {errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.EROFS: "read_only",
                  errno.EIO: "io_error"}


def storage_failure(exc: BaseException) -> str | None:
    """'disk_full', 'read_only', 'io_error', 'cannot_open' or 'corrupt' if `exc` is the storage failing
    (SQLITE_FULL, SQLITE_READONLY, ENOSPC, EROFS, EIO...); None for anything else (a bug: let it raise)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return _SQLITE_REASONS.get(code & 0xFF)
        text = str(exc)
        for needle, reason in (("disk is full", "disk_full"), ("readonly", "read_only"),
                               ("disk I/O", "io_error"), ("unable to open", "cannot_open")):
            if needle in text:
                return reason
        return None
    if isinstance(exc, OSError):
        return _ERRNO_REASONS.get(exc.errno or 0)
    return None


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
        self._closed = False
        try:
            self.db = sqlite_utils.Database(self._conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            # Checkpoints run from remove(), off the path of a new event's commit (see there).
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._since_checkpoint = 0
            self._conn.executescript(SCHEMA)
            (self._count,) = self._conn.execute("SELECT count(*) FROM outbox").fetchone()
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        except BaseException:
            self._conn.close()  # a full or read-only card: the caller decides (hub.core.store)
            raise
        self._next_seq = (row[0] if row else 0) + 1

    def add(self, event: Event, state: StateChange | None = None) -> Row:
        """Commit the event; returns its row (with the envelope's seq) once it is on disk.

        `state` writes what the event changes (an alarm opened, escalated, closed) in the same
        transaction: both are on disk, or neither is."""
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
                if state is not None:
                    state(self._conn)
                evicted = self._evict_locked()
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_locked()
                raise
            self._count += 1 - evicted
            self._next_seq = seq + 1
        return Row(seq, event.id, int(event.priority), event.type, topic, payload)

    def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one committed transaction (state kept beside the queue, e.g. open alarms)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_locked()
                raise
        return result

    def add_rows(self, rows: Iterable[Row]) -> int:
        """Commit rows built elsewhere (events held in memory while the card failed), keeping their
        seq and payload; a row whose id is already here is left alone. One transaction."""
        batch = [(r.seq, r.id, r.priority, r.type, r.topic, r.payload, time.time()) for r in rows]
        if not batch:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                before = self._conn.total_changes
                self._conn.executemany(
                    "INSERT OR IGNORE INTO outbox (seq, id, priority, type, topic, payload, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                added = self._conn.total_changes - before
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_locked()
                raise
            self._count += added
            self._next_seq = max(self._next_seq, max(b[0] for b in batch) + 1)
        return added

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def reserve(self, next_seq: int) -> None:
        """Seqs below `next_seq` were given out elsewhere (to events held in memory): never reuse them."""
        with self._lock:
            self._next_seq = max(self._next_seq, next_seq)

    def probe(self) -> None:
        """A small durable write: raises the storage error if the card still refuses writes."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("INSERT OR REPLACE INTO probe (k, v) VALUES (1, ?)", (time.time(),))
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_locked()
                raise

    def _rollback_locked(self) -> None:
        # A failed BEGIN or a COMMIT that SQLite already rolled back (SQLITE_FULL) leaves nothing to undo.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

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
                try:
                    cur = self._conn.executemany("DELETE FROM outbox WHERE id = ?", batch)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback_locked()
                    raise
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
