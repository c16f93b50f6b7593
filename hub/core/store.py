"""The queue as the coordinator and the uplink see it: the SQLite outbox while the card takes writes,
plus the events that could not be committed (a full, read-only or failing SD card), held in memory.

A call must go out even when the card refuses it: `add()` never raises for a storage failure. The
event gets the next seq, goes into memory, and `add()` says it is not saved; the uplink sends it like
any other row (`pending()` merges both, in priority-then-seq order). It stays in memory until its
PUBACK (`remove()`) or until `retry()` can commit it. Memory is bounded: measurements give way
first; calls and alarms are never dropped (a hub short of both disk and memory has worse problems
than a full queue).

Telemetry never goes to the card: it is periodic, the next one says the same, and committing it
was most of what an idle hub wrote. It is sent from memory, the latest of each type replacing an
older one not yet sent (with a seq reserved on disk in blocks, hub.core.outbox.Outbox.volatile_seq).

Thread-safety: the lock here guards only what is in memory; the outbox has locks of its own (one per
connection), so a call committed on the loop thread never waits for the drain's deletes on the DB
worker thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from hub.core.events import Event, Priority, event_topic
from hub.core.outbox import Outbox, Row, StateChange, T, storage_failure
from hub.core.storage_fault import REMEDIES, StorageFault
from hub.core.storage_fault import read_next_seq as _read_next_seq

log = logging.getLogger(__name__)

MEMORY_ROWS = 5000  # unsaved events kept in memory at most (non-urgent ones give way first)

Delivered = Callable[[list[Row]], None]


class Store:
    def __init__(self, path: Path, hub_id: str, topic_base: str, max_rows: int = 200_000,
                 memory_rows: int = MEMORY_ROWS) -> None:
        self.path, self.hub_id, self.topic_base, self.max_rows = path, hub_id, topic_base, max_rows
        self.memory_rows = memory_rows
        self._lock = threading.RLock()
        self._memory: dict[str, Row] = {}  # event id -> row not yet committed
        self._volatile: dict[str, Row] = {}  # telemetry type -> its latest row, sent from memory only
        self._superseded: set[str] = set()  # volatile ids replaced by a later one of their type
        self._delivered_unsaved: dict[str, Row] = {}  # delivered rows whose disk delete failed
        self.fault: StorageFault | None = None
        self.on_delivered: Delivered | None = None  # called (DB thread) with memory rows PUBACKed
        self.on_maintenance: Callable[[], None] | None = None  # upkeep is due (see maintain); any thread
        self.outbox: Outbox | None = None
        self._next_seq = 1
        self._open()

    # --- writing -----------------------------------------------------------------------------------
    def add(self, event: Event, state: StateChange | None = None,
            sending: Callable[[Row], None] | None = None) -> tuple[Row, bool]:
        """Commit the event (and `state`, in its transaction) if the card allows, else keep the event
        in memory: (row, saved). Unsaved, `state` is not written: the caller keeps it in memory.
        Telemetry is sent from memory by design and counts as saved. `sending`: see Outbox.add, on the
        card's good path only; the row handed to it is not the one returned if that commit failed."""
        if event.priority == Priority.TELEMETRY and state is None:
            return self._add_volatile(event), True
        outbox = self.outbox
        if outbox is not None and self.fault is None and not self._memory:
            try:  # the common case, without this lock: the outbox's writer lock is enough
                row = outbox.add(event, state, sending)
                self._due(outbox)
                return row, True
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                with self._lock:
                    self._failed_locked(exc)
        with self._lock:
            if self.outbox is not None:
                try:
                    if self._memory:
                        self._flush_locked()
                    row = self.outbox.add(event, state)  # no early send: at most one per event
                    if self.fault is not None:
                        self._recovered_locked()
                    return row, True
                except (sqlite3.Error, OSError) as exc:
                    if storage_failure(exc) is None:
                        raise
                    self._failed_locked(exc)
            row = self._memory_row(event, self._take_seq_locked())
            self._memory[row.id] = row
            self._bound_memory_locked()
            log.error("storage: %s %s not saved (%s); held in memory and sent from there",
                      event.type, event.id, self.fault.reason if self.fault else "?")
            return row, False

    def _add_volatile(self, event: Event) -> Row:
        seq = None
        outbox = self.outbox
        if outbox is not None and self.fault is None:
            try:
                seq = outbox.volatile_seq()
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                with self._lock:
                    self._failed_locked(exc)
        with self._lock:
            row = self._memory_row(event, self._take_seq_locked() if seq is None else seq)
            old = self._volatile.get(event.type)
            if old is not None and len(self._superseded) < self.memory_rows:
                self._superseded.add(old.id)  # maybe in flight already: its PUBACK deletes nothing
            self._volatile[event.type] = row  # latest value wins
            return row

    def _memory_row(self, event: Event, seq: int) -> Row:
        return Row(seq, event.id, int(event.priority), event.type, event_topic(self.topic_base, event.type),
                   event.payload(self.hub_id, seq))

    def _take_seq_locked(self) -> int:
        if self.outbox is not None:
            return self.outbox.take_seq()
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """One transaction on the database (open alarms at start-up); raises while the card is out."""
        with self._lock:
            if self.outbox is None:
                raise sqlite3.OperationalError(f"storage unavailable: {self.fault.reason if self.fault else '?'}")
            return self.outbox.transact(fn)

    def retry(self) -> bool:
        """Try the card again: open the outbox, commit what memory holds. True if storage works now."""
        with self._lock:
            if self.fault is None:
                return True
            try:
                if self.outbox is None:
                    self.outbox = Outbox(self.path, self.hub_id, self.topic_base, self.max_rows)
                    self.outbox.reserve(self._next_seq)
                self._flush_locked()
                if self._delivered_unsaved:
                    self.outbox.remove(self._delivered_unsaved.values())
                    self._delivered_unsaved.clear()
                self.outbox.probe()
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                self._failed_locked(exc)
                return False
            self._recovered_locked()
            return True

    def remove(self, rows: Iterable[Row]) -> int:
        """Drop delivered rows (PUBACK seen) from memory and disk."""
        wanted = list(rows)
        with self._lock:
            gone = [self._memory.pop(r.id) for r in wanted if r.id in self._memory]
            sent = [r for r in wanted if self._volatile.get(r.type, None) == r]
            for r in sent:
                del self._volatile[r.type]
            in_memory = {r.id for r in gone} | {r.id for r in sent}
            in_memory |= {r.id for r in wanted if r.id in self._superseded}
            self._superseded.difference_update(in_memory)
            on_disk = [r for r in wanted if r.id not in in_memory]
            outbox = self.outbox
        removed = len(gone) + len(sent)
        if on_disk and outbox is not None:
            try:  # outside this lock: a call's commit must not wait for the drain's deletes
                removed += outbox.remove(on_disk)
                self._due(outbox)
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                with self._lock:
                    self._failed_locked(exc)
                    # Delivered: never send them again in this run; delete when the card recovers.
                    self._delivered_unsaved.update((r.id, r) for r in on_disk)
        if gone and self.on_delivered is not None:
            self.on_delivered(gone)
        return removed

    # --- reading ----------------------------------------------------------------------------------
    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]:
        with self._lock:
            skip = set(exclude) | set(self._delivered_unsaved)
            rows = [r for r in (*self._memory.values(), *self._volatile.values()) if r.id not in skip
                    and (after is None or (r.priority, r.seq) > after)]
            outbox = self.outbox
        if outbox is not None:
            try:  # the drain's connection, outside this lock
                rows += outbox.pending(limit, skip, after)
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                with self._lock:
                    self._failed_locked(exc)
        rows.sort(key=lambda r: (r.priority, r.seq))
        return rows[:limit]

    def depth(self) -> dict[str, int]:
        """Queued events by priority, from counts kept in memory (no query: `status` may ask often)."""
        with self._lock:
            counts = self.outbox.depth() if self.outbox is not None else {p.name.lower(): 0 for p in Priority}
            for row in (*self._memory.values(), *self._volatile.values()):
                counts[Priority(row.priority).name.lower()] += 1
            return counts

    # --- upkeep (the DB thread) --------------------------------------------------------------------
    def maintenance_due(self) -> bool:
        outbox = self.outbox
        return outbox is not None and self.fault is None and outbox.maintenance_due()

    def maintain(self) -> bool:
        """One bounded step of the outbox's upkeep (checkpoint, giving space back); True if more is due."""
        outbox = self.outbox
        if outbox is None or self.fault is not None:
            return False
        try:
            return outbox.maintain()
        except (sqlite3.Error, OSError) as exc:
            if storage_failure(exc) is None:
                raise
            log.warning("storage: outbox upkeep failed (%s); tried again later", exc)
            return False

    def _due(self, outbox: Outbox) -> None:
        if self.on_maintenance is not None and outbox.maintenance_due():
            self.on_maintenance()

    def unsaved(self) -> int:
        with self._lock:
            return len(self._memory)

    def is_unsaved(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._memory

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + len(self._volatile) + (len(self.outbox) if self.outbox is not None else 0)

    def close(self) -> None:
        with self._lock:
            if self._memory:
                log.error("storage: stopping with %d event(s) neither saved nor delivered: %s",
                          len(self._memory), ", ".join(f"{r.type} {r.id}" for r in self._memory.values()))
            if self.outbox is not None:
                self.outbox.close()

    # --- internals --------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.outbox = Outbox(self.path, self.hub_id, self.topic_base, self.max_rows)
            self._next_seq = self.outbox.next_seq
            # A read-only card can open an existing database and even read it: only a write tells.
            self.outbox.probe()
        except (sqlite3.Error, OSError) as exc:
            if storage_failure(exc) is None:
                raise
            self._failed_locked(exc)
            self._next_seq = _read_next_seq(self.path)

    def _flush_locked(self) -> None:
        assert self.outbox is not None
        if self._memory:
            rows = sorted(self._memory.values(), key=lambda r: r.seq)
            self.outbox.add_rows(rows)
            self._memory.clear()
            log.warning("storage: committed %d event(s) held in memory", len(rows))

    def _failed_locked(self, exc: BaseException) -> None:
        reason = storage_failure(exc) or "io_error"
        if self.fault is None or self.fault.reason != reason:
            log.error("storage failure (%s): %s; calls still go out from memory. %s", reason, exc,
                      REMEDIES.get(reason, ""))
            self.fault = StorageFault(reason, f"{type(exc).__name__}: {exc}"[:300], time.time())

    def _recovered_locked(self) -> None:
        assert self.fault is not None
        log.warning("storage works again (was %s since %.0f s ago)", self.fault.reason,
                    time.time() - self.fault.since)
        self.fault = None

    def _bound_memory_locked(self) -> None:
        excess = len(self._memory) - self.memory_rows
        if excess <= 0:
            return
        # Lowest priority, oldest first; urgent rows are never dropped.
        victims = sorted((r for r in self._memory.values() if r.priority != Priority.URGENT),
                         key=lambda r: (-r.priority, r.seq))[:excess]
        for row in victims:
            del self._memory[row.id]
        if victims:
            log.warning("storage: memory full, dropped %d unsaved non-urgent event(s)", len(victims))

