"""The durable outbox: every event is on disk before anyone is told it was sent.

SQLite in WAL mode with synchronous=FULL, so a committed row survives a power cut. A row leaves only
when the broker's PUBACK for it arrives. Delivery order is priority, then FIFO (the row's seq, which
is also the envelope's per-hub `seq` and never goes backwards: the next seq is kept in the file,
hub.core.outbox_file). All methods are blocking.

Two connections, two locks, so that a call never waits for the backlog: the writer (`add`,
`transact`, `probe`: calls and alarms commit on the loop thread, the rest on the DB worker thread)
and the drain (`pending`, `remove`, `maintain`: the DB worker thread). SQLite still lets one
transaction write at a time, so the drain's are short (a batch of deletes, no fsync, one bounded
maintenance step) and a call's commit waits at most for one of them, never for a queue of them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from hub.core.events import Event, Priority, event_topic
from hub.core.outbox_file import COUNT_COLUMNS, SEQ_BITS, SEQ_MASK, VACUUM_QUEUE_MAX, Upkeep, key, prepare, rollback
from hub.core.outbox_file import connect as connect_file
from hub.core.outbox_file import key_runs as key_ranges
from hub.core.outbox_file import storage_failure as storage_failure  # where the hub has always found it
from hub.core.rows import Row as Row
from hub.core.rows import RowSource as RowSource
from hub.core.rows import StateChange as StateChange
from hub.core.rows import T as T

SEQ_BLOCK = 256  # seqs reserved on disk at a time for events sent from memory (telemetry)


class Outbox(Upkeep):
    def __init__(self, path: Path, hub_id: str, topic_base: str, max_rows: int = 200_000) -> None:
        self.path = path
        self.hub_id = hub_id
        self.topic_base = topic_base
        self.max_rows = max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self._w = prepare(path)  # raises for a full or read-only card: the caller decides (hub.core.store)
        try:
            self._d = connect_file(path, synchronous="NORMAL")
            next_seq, *counts = self._w.execute(
                "SELECT next_seq, urgent, measurement, telemetry FROM meta").fetchone()
            # Never below a seq still queued, nor one reserved (sqlite_sequence, see _reserve_locked).
            top = self._w.execute("SELECT max(k) FROM queue").fetchone()[0]
            (reserved,) = self._w.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        except BaseException:
            self._w.close()
            raise
        self._wlock = threading.Lock()  # the writer connection
        self._dlock = threading.Lock()  # the drain connection
        self._clock = threading.Lock()  # the counts and seqs below
        self._counts: list[int] = list(counts)
        self._reserved = int(reserved)  # every seq this file ever gave out is <= this, on disk
        self._next_seq = max(next_seq, (top & SEQ_MASK) + 1 if top is not None else 1, self._reserved + 1)
        self._commits = 0  # writer commits since the last checkpoint
        self._shrink = True  # look for space to give back (set when the queue runs short)
        self._peak = sum(counts)  # the most rows queued since the queue was last empty
        self._closed = False

    # --- writer connection ------------------------------------------------------------------------
    def add(self, event: Event, state: StateChange | None = None,
            sending: Callable[[Row], None] | None = None) -> Row:
        """Commit the event; returns its row (with the envelope's seq) once it is on disk.

        `state` writes what the event changes (an alarm opened, escalated, closed) in the same
        transaction: both are on disk, or neither is.

        `sending` (a call or an alarm) is handed the row once it is written and before the commit's
        fsync: the message is on its way to the broker while the card syncs (on an SD card the fsync
        is the slow part, 5-30 ms). Nothing is lost by it: a power cut during the fsync lost the row
        before this too, and now the message may already be out. Its seq is used up even if the
        commit then fails, so no other event is ever sent with it. Whoever passes it must not raise."""
        topic = event_topic(self.topic_base, event.type)
        priority = int(event.priority)
        with self._wlock:
            with self._clock:
                seq = self._next_seq
                if sending is not None:
                    self._next_seq = seq + 1
            payload = event.payload(self.hub_id, seq)
            self._w.execute("BEGIN IMMEDIATE")
            try:
                self._w.execute("INSERT INTO queue (k, id, type, topic, payload, created) VALUES (?, ?, ?, ?, ?, ?)",
                                (key(priority, seq), event.id, event.type, topic, payload, time.time()))
                if state is not None:
                    state(self._w)
                evicted = self._evict_locked()
                delta = [int(p == priority) for p in range(len(COUNT_COLUMNS))]
                delta[-1] -= evicted
                self._w.execute("UPDATE meta SET next_seq = max(next_seq, ?), urgent = urgent + ?, "
                                "measurement = measurement + ?, telemetry = telemetry + ?", (seq + 1, *delta))
                reserved = self._reserve_locked(seq)
                if sending is not None:
                    sending(Row(seq, event.id, priority, event.type, topic, payload))
                self._w.execute("COMMIT")
            except BaseException:
                rollback(self._w)
                raise
            with self._clock:
                self._counts[priority] += 1
                self._peak = max(self._peak, sum(self._counts))
                self._counts[-1] -= evicted
                self._next_seq = max(self._next_seq, seq + 1)
                self._reserved = reserved
                self._commits += 1
        return Row(seq, event.id, priority, event.type, topic, payload)

    def _reserve_locked(self, seq: int) -> int:
        """In the writer's open transaction: make sure `seq` is reserved on disk, SEQ_BLOCK at a time,
        in the first schema's sqlite_sequence row — where an older version started by an update's
        rollback reads its next seq, and where a restart of this one resumes. Returns the reservation."""
        if seq <= self._reserved:
            return self._reserved
        self._w.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'", (seq + SEQ_BLOCK,))
        return seq + SEQ_BLOCK

    def volatile_seq(self) -> int:
        """A seq for an event sent from memory only (telemetry: latest value wins, hub.core.store).
        Seqs are reserved on disk SEQ_BLOCK at a time, so none is used twice across a power cut; a
        restart may skip up to SEQ_BLOCK of them (docs/protocol.md: seqs may jump, never repeat)."""
        with self._wlock:
            with self._clock:
                seq = self._next_seq
            reserved = self._reserved
            if seq > reserved:
                self._w.execute("BEGIN IMMEDIATE")
                try:
                    reserved = self._reserve_locked(seq)
                    self._w.execute("COMMIT")
                except BaseException:
                    rollback(self._w)
                    raise
            with self._clock:
                self._commits += int(reserved != self._reserved)
                self._reserved = reserved
                self._next_seq = max(self._next_seq, seq + 1)
        return seq

    def take_seq(self) -> int:
        """The next seq for an event held in memory because the card refused it (hub.core.store)."""
        with self._clock:
            seq = self._next_seq
            self._next_seq += 1
            return seq

    def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one committed transaction (state kept beside the queue, e.g. open alarms)."""
        with self._wlock:
            self._w.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._w)
                self._w.execute("COMMIT")
            except BaseException:
                rollback(self._w)
                raise
            self._commits += 1
        return result

    def add_rows(self, rows: Iterable[Row]) -> int:
        """Commit rows built elsewhere (events held in memory while the card failed), keeping their
        seq and payload; a row whose seq is already here is left alone. One transaction."""
        by_priority: dict[int, list[tuple[int, str, str, str, str, float]]] = {}
        for r in rows:
            by_priority.setdefault(r.priority, []).append(
                (key(r.priority, r.seq), r.id, r.type, r.topic, r.payload, time.time()))
        if not by_priority:
            return 0
        top = max(k & SEQ_MASK for batch in by_priority.values() for k, *_ in batch)
        added = dict.fromkeys(by_priority, 0)
        with self._wlock:
            self._w.execute("BEGIN IMMEDIATE")
            try:
                for priority, batch in by_priority.items():
                    before = self._w.total_changes
                    self._w.executemany("INSERT OR IGNORE INTO queue (k, id, type, topic, payload, created) "
                                        "VALUES (?, ?, ?, ?, ?, ?)", batch)
                    added[priority] = self._w.total_changes - before
                self._w.execute("UPDATE meta SET next_seq = max(next_seq, ?), urgent = urgent + ?, "
                                "measurement = measurement + ?, telemetry = telemetry + ?",
                                (top + 1, added.get(0, 0), added.get(1, 0), added.get(2, 0)))
                reserved = self._reserve_locked(top)
                self._w.execute("COMMIT")
            except BaseException:
                rollback(self._w)
                raise
            with self._clock:
                for priority, n in added.items():
                    self._counts[priority] += n
                self._next_seq = max(self._next_seq, top + 1)
                self._reserved = reserved
                self._commits += 1
        return sum(added.values())

    @property
    def next_seq(self) -> int:
        with self._clock:
            return self._next_seq

    def reserve(self, next_seq: int) -> None:
        """Seqs below `next_seq` were given out elsewhere (to events held in memory): never reuse them."""
        with self._clock:
            self._next_seq = max(self._next_seq, next_seq)

    def probe(self) -> None:
        """A small durable write: raises the storage error if the card still refuses writes."""
        with self._wlock:
            self._w.execute("BEGIN IMMEDIATE")
            try:
                self._w.execute("INSERT OR REPLACE INTO probe (k, v) VALUES (1, ?)", (time.time(),))
                self._w.execute("COMMIT")
            except BaseException:
                rollback(self._w)
                raise

    def _evict_locked(self) -> int:
        with self._clock:
            excess = sum(self._counts) + 1 - self.max_rows
        if excess <= 0:
            return 0
        # Only telemetry may go; calls, alarms and measurements stay however full the queue is.
        low = key(int(Priority.TELEMETRY), 0)
        cur = self._w.execute("DELETE FROM queue WHERE k IN (SELECT k FROM queue WHERE k >= ? ORDER BY k LIMIT ?)",
                              (low, excess))
        return max(cur.rowcount, 0)

    # --- drain connection -------------------------------------------------------------------------
    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]:
        """Next rows to send in delivery order, after the (priority, seq) cursor, skipping those in flight."""
        skip = set(exclude)
        start = 0 if after is None else key(*after) + 1
        with self._dlock:
            fetched = self._d.execute("SELECT k, id, type, topic, payload FROM queue WHERE k >= ? ORDER BY k LIMIT ?",
                                      (start, limit + len(skip))).fetchall()
        rows = (Row(k & SEQ_MASK, i, k >> SEQ_BITS, t, topic, p) for k, i, t, topic, p in fetched)
        return [r for r in rows if r.id not in skip][:limit]

    def remove(self, rows: Iterable[Row]) -> int:
        """Drop delivered rows (PUBACK seen), by key, as one short transaction for the batch.

        Deletes commit without their own fsync (the drain connection is synchronous=NORMAL): losing
        one to a power cut only re-sends an event the platform de-duplicates by id, and the next
        insert's FULL commit syncs the WAL anyway."""
        by_priority: dict[int, list[int]] = {}
        for r in rows:
            by_priority.setdefault(r.priority, []).append(key(r.priority, r.seq))
        if not by_priority:
            return 0
        gone = dict.fromkeys(by_priority, 0)
        with self._dlock:
            self._d.execute("BEGIN IMMEDIATE")
            try:
                for priority, keys in by_priority.items():
                    # A drain's PUBACKs come in key order: consecutive keys go as one range each.
                    gone[priority] = sum(max(self._d.execute("DELETE FROM queue WHERE k BETWEEN ? AND ?",
                                                             run).rowcount, 0) for run in key_ranges(keys))
                self._d.execute("UPDATE meta SET urgent = urgent - ?, measurement = measurement - ?, "
                                "telemetry = telemetry - ?", (gone.get(0, 0), gone.get(1, 0), gone.get(2, 0)))
                self._d.execute("COMMIT")
            except BaseException:
                rollback(self._d)
                raise
            with self._clock:
                for priority, n in gone.items():
                    self._counts[priority] -= n
                total = sum(self._counts)
                self._commits += 1
                drained = total == 0 and self._peak > VACUUM_QUEUE_MAX
                if total <= VACUUM_QUEUE_MAX < total + sum(gone.values()) or drained:
                    self._shrink = True  # a backlog has (just about) drained: its pages can go back
                self._peak = self._peak if total else 0
        return sum(gone.values())

    def depth(self) -> dict[str, int]:
        """Queued rows by priority: counts kept with every commit, no query."""
        with self._clock:
            return {Priority(p).name.lower(): n for p, n in enumerate(self._counts)}

    def __len__(self) -> int:
        with self._clock:
            return sum(self._counts)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._wlock, self._dlock:
                self._d.close()
                self._w.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
