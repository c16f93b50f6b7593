"""The queue as the coordinator and the uplink see it: the SQLite outbox while the card takes writes,
plus the events that could not be committed (a full, read-only or failing SD card), held in memory.

A call must go out even when the card refuses it: `add()` never raises for a storage failure. The
event gets the next seq, goes into memory, and `add()` says it is not saved; the uplink sends it like
any other row (`pending()` merges both, in priority-then-seq order). It stays in memory until its
PUBACK (`remove()`) or until `retry()` can commit it. Memory is bounded: telemetry and measurements
give way first; calls and alarms are never dropped (a hub short of both disk and memory has worse
problems than a full queue).

Thread-safety: one lock around everything; the loop thread commits urgent events, the DB worker
thread the rest and every query.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.core.events import Event, Priority, event_topic
from hub.core.outbox import Outbox, Row, StateChange, T, storage_failure

log = logging.getLogger(__name__)

MEMORY_ROWS = 5000  # unsaved events kept in memory at most (non-urgent ones give way first)

REMEDIES = {
    "disk_full": "存储卡已满：删除 state_dir 中的旧文件或更换存储卡 / SD card full: free space or replace the card",
    "read_only": "存储卡只读（可能已损坏）：更换存储卡 / SD card read-only (failing?): replace the card",
    "io_error": "存储卡读写错误：更换存储卡 / SD card I/O errors: replace the card",
    "cannot_open": "无法打开队列数据库：检查 state_dir 与存储卡 / cannot open the queue database: check the card",
    "corrupt": "队列数据库损坏：更换存储卡 / queue database damaged: replace the card",
}


@dataclass(frozen=True)
class StorageFault:
    reason: str  # disk_full | read_only | io_error | cannot_open | corrupt
    detail: str  # what SQLite or the OS said
    since: float  # wall time (epoch s), for status only

    @property
    def remedy(self) -> str:
        return REMEDIES.get(self.reason, REMEDIES["io_error"])


Delivered = Callable[[list[Row]], None]


class Store:
    def __init__(self, path: Path, hub_id: str, topic_base: str, max_rows: int = 200_000,
                 memory_rows: int = MEMORY_ROWS) -> None:
        self.path, self.hub_id, self.topic_base, self.max_rows = path, hub_id, topic_base, max_rows
        self.memory_rows = memory_rows
        self._lock = threading.RLock()
        self._memory: dict[str, Row] = {}  # event id -> row not yet committed
        self._delivered_unsaved: set[str] = set()  # delivered ids whose disk delete failed
        self.fault: StorageFault | None = None
        self.on_delivered: Delivered | None = None  # called (DB thread) with memory rows PUBACKed
        self.outbox: Outbox | None = None
        self._next_seq = 1
        self._open()

    # --- writing -----------------------------------------------------------------------------------
    def add(self, event: Event, state: StateChange | None = None) -> tuple[Row, bool]:
        """Commit the event (and `state`, in its transaction) if the card allows, else keep the event
        in memory: (row, saved). Unsaved, `state` is not written: the caller keeps it in memory."""
        with self._lock:
            if self.outbox is not None:
                try:
                    if self._memory:
                        self._flush_locked()
                    row = self.outbox.add(event, state)
                    self._next_seq = self.outbox.next_seq
                    if self.fault is not None:
                        self._recovered_locked()
                    return row, True
                except (sqlite3.Error, OSError) as exc:
                    if storage_failure(exc) is None:
                        raise
                    self._failed_locked(exc)
            seq = self._next_seq
            self._next_seq += 1
            if self.outbox is not None:
                self.outbox.reserve(self._next_seq)
            row = Row(seq, event.id, int(event.priority), event.type,
                      event_topic(self.topic_base, event.type), event.payload(self.hub_id, seq))
            self._memory[row.id] = row
            self._bound_memory_locked()
            log.error("storage: %s %s not saved (%s); held in memory and sent from there",
                      event.type, event.id, self.fault.reason if self.fault else "?")
            return row, False

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
                    self.outbox.remove(self._delivered_unsaved)
                    self._delivered_unsaved.clear()
                self.outbox.probe()
            except (sqlite3.Error, OSError) as exc:
                if storage_failure(exc) is None:
                    raise
                self._failed_locked(exc)
                return False
            self._recovered_locked()
            return True

    def remove(self, ids: Iterable[str]) -> int:
        """Drop delivered rows (PUBACK seen) from memory and disk."""
        wanted = list(ids)
        with self._lock:
            gone = [self._memory.pop(i) for i in wanted if i in self._memory]
            on_disk = [i for i in wanted if i not in {r.id for r in gone}]
            removed = len(gone)
            if on_disk and self.outbox is not None:
                try:
                    removed += self.outbox.remove(on_disk)
                except (sqlite3.Error, OSError) as exc:
                    if storage_failure(exc) is None:
                        raise
                    self._failed_locked(exc)
                    # Delivered: never send them again in this run; delete when the card recovers.
                    self._delivered_unsaved.update(on_disk)
        if gone and self.on_delivered is not None:
            self.on_delivered(gone)
        return removed

    # --- reading ----------------------------------------------------------------------------------
    def pending(self, limit: int, exclude: Iterable[str] = (),
                after: tuple[int, int] | None = None) -> list[Row]:
        with self._lock:
            skip = set(exclude) | self._delivered_unsaved
            rows = [r for r in self._memory.values() if r.id not in skip
                    and (after is None or (r.priority, r.seq) > after)]
            if self.outbox is not None:
                try:
                    rows += self.outbox.pending(limit, skip, after)
                except (sqlite3.Error, OSError) as exc:
                    if storage_failure(exc) is None:
                        raise
                    self._failed_locked(exc)
        rows.sort(key=lambda r: (r.priority, r.seq))
        return rows[:limit]

    def depth(self) -> dict[str, int]:
        with self._lock:
            counts = {p.name.lower(): 0 for p in Priority}
            if self.outbox is not None:
                try:
                    counts = self.outbox.depth()
                except (sqlite3.Error, OSError) as exc:
                    if storage_failure(exc) is None:
                        raise
            for row in self._memory.values():
                counts[Priority(row.priority).name.lower()] += 1
            return counts

    def unsaved(self) -> int:
        with self._lock:
            return len(self._memory)

    def is_unsaved(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._memory

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + (len(self.outbox) if self.outbox is not None else 0)

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


def _read_next_seq(path: Path) -> int:
    """The seq to continue from when the outbox cannot be opened for writing: read it if the file is
    readable; else milliseconds since the epoch, above any seq a hub has used (seqs may jump, never
    repeat; docs/protocol.md)."""
    if not path.exists() or path.stat().st_size == 0:
        return 1  # never written (SQLite may leave an empty file behind when it cannot start one)
    wal = path.with_name(path.name + "-wal")
    uris = [f"file:{path}?mode=ro"]
    if not wal.exists() or wal.stat().st_size == 0:
        uris.append(f"file:{path}?immutable=1")  # no WAL to miss: the main file is the whole story
    for uri in uris:
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
            return (row[0] if row else 0) + 1
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 1  # a database without a queue yet
        except sqlite3.Error:
            continue
    return int(time.time() * 1000)
