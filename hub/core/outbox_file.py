"""The outbox's SQLite file: PRAGMAs, the schema, and the one-time move of older files to it.

Written for an SD card that must last years (docs/reliability.md, "What the card writes"):

- one b-tree per queued row: the key is `priority << 48 | seq`, so delivery order (priority, then
  FIFO) is key order, a drain deletes contiguous keys, and no index on the random UUID is kept;
- the next seq and the queue's counts by priority live in one small `meta` row, written in the
  transaction of every insert and delete: `status` reads counts kept in memory (no scan of the
  queue), and after a power cut they agree with the rows;
- `auto_vacuum=INCREMENTAL`, so the file gives space back after a long outage's backlog is drained
  (hub.core.outbox.Outbox.maintain, bounded work per step);
- WAL with `synchronous=FULL` for inserts; checkpoints on a bounded schedule, never on a call's commit.

Plain `sqlite3`: this runs before READY, and sqlite-utils would pull in click, dateutil, pluggy and
tabulate for a few PRAGMAs.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_COMMITS = 300  # commits between checkpoints (and whenever the -wal outgrows WAL_CHECKPOINT_BYTES)
WAL_CHECKPOINT_BYTES = 4 << 20
VACUUM_QUEUE_MAX = 1000  # give space back only once the queue is this short (pages at the end are free)
VACUUM_MIN_FREE = 32  # free pages (128 KiB) worth giving back once a backlog has drained
VACUUM_STEP = 256  # pages freed per upkeep step: one short write transaction (~10 ms)
SEQ_BITS = 48
SEQ_MASK = (1 << SEQ_BITS) - 1
VERSION = 2  # PRAGMA user_version of this schema; 0 is the first one (seq AUTOINCREMENT, UNIQUE(id))
BUSY_TIMEOUT_S = 5.0
WAL_LIMIT_BYTES = 256 << 10  # the -wal file is cut back to this when it restarts after a checkpoint

# `queue` holds the rows. `outbox` is the first schema's table, kept empty for an older hub version that
# an update's rollback may start on this file (docs/fleet.md): it finds its table, and its seq in
# sqlite_sequence, which this version keeps ahead of every seq it uses (SEQ_BLOCK at a time).
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS queue (
    k INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    seq INTEGER GENERATED ALWAYS AS (k & {SEQ_MASK}) VIRTUAL,
    priority INTEGER GENERATED ALWAYS AS (k >> {SEQ_BITS}) VIRTUAL
);
CREATE TABLE IF NOT EXISTS meta (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    next_seq INTEGER NOT NULL,
    urgent INTEGER NOT NULL,
    measurement INTEGER NOT NULL,
    telemetry INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta VALUES (1, 1, 0, 0, 0);
CREATE TABLE IF NOT EXISTS probe (k INTEGER PRIMARY KEY, v REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    type TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox');
"""
COUNT_COLUMNS = ("urgent", "measurement", "telemetry")  # by Priority value


def key(priority: int, seq: int) -> int:
    return (priority << SEQ_BITS) | seq


def key_runs(keys: Iterable[int]) -> list[tuple[int, int]]:
    """Distinct keys as (first, last) runs of consecutive integers. Nothing lies between a run's ends
    but keys of the run, so `DELETE ... WHERE k BETWEEN first AND last` takes exactly these rows; a
    drain's PUBACKs come in key order, so its batch of deletes is one or a few ranges, not a row each."""
    runs: list[tuple[int, int]] = []
    for k in sorted(set(keys)):
        if runs and k == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return runs


def connect(path: Path, *, synchronous: str, new_file: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, no automatic checkpoint."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    try:
        if new_file and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes only before the file's first page
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # hub.core.outbox: checkpoints off the call path
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    except BaseException:
        conn.close()
        raise
    return conn


def prepare(path: Path) -> sqlite3.Connection:
    """Open (creating or moving forward) the outbox file; returns the writer's connection."""
    conn = connect(path, synchronous="FULL", new_file=True)
    try:
        _create(conn)
        if conn.execute("SELECT 1 FROM outbox LIMIT 1").fetchone():
            _move_v1_rows(conn)  # a file from before, or rows an older version wrote after a rollback
        if conn.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            conn.execute(f"PRAGMA user_version={VERSION}")
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            _enable_incremental_vacuum(conn)
    except BaseException:
        conn.close()  # a full or read-only card: the caller decides (hub.core.store)
        raise
    return conn


def _create(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript would commit an open transaction.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _move_v1_rows(conn: sqlite3.Connection) -> None:
    """One transaction: the first schema's rows (seq AUTOINCREMENT, UNIQUE(id)) move to the keyed
    table; the highest seq ever used there (sqlite_sequence) carries over, so seqs never repeat."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (used,) = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        (top,) = conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()
        conn.execute(f"INSERT OR IGNORE INTO queue (k, id, type, topic, payload, created) SELECT "
                     f"(priority << {SEQ_BITS}) | seq, id, type, topic, payload, created FROM outbox")
        counts = dict(conn.execute("SELECT priority, count(*) FROM outbox GROUP BY priority").fetchall())
        conn.execute("UPDATE meta SET next_seq = max(next_seq, ?), urgent = urgent + ?, "
                     "measurement = measurement + ?, telemetry = telemetry + ?",
                     (max(used, top) + 1, counts.get(0, 0), counts.get(1, 0), counts.get(2, 0)))
        conn.execute("DELETE FROM outbox")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    log.warning("outbox: moved %d queued event(s) to the keyed table (schema v%d)", sum(counts.values()), VERSION)


def _enable_incremental_vacuum(conn: sqlite3.Connection) -> None:
    """A file made before auto_vacuum was set: one VACUUM rewrites it so that it can shrink later.
    A card too full for the copy keeps the old mode and tries again at the next start."""
    try:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
        log.warning("outbox: file rewritten with auto_vacuum=INCREMENTAL (it gives space back after a drain)")
    except sqlite3.Error as exc:
        log.warning("outbox: could not rewrite the file for auto_vacuum (%s); it will not shrink after a "
                    "backlog until this works (tried again at every start)", exc)


def rollback(conn: sqlite3.Connection) -> None:
    # A failed BEGIN or a COMMIT that SQLite already rolled back (SQLITE_FULL) leaves nothing to undo.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class Upkeep:
    """The outbox's upkeep on its drain connection, run a bounded step at a time from the DB thread
    (hub.core.storage_watch), never on a call's commit: WAL checkpoints, and once a backlog has
    drained, free pages given back to the card."""

    path: Path
    _d: sqlite3.Connection
    _dlock: threading.Lock
    _clock: threading.Lock
    _counts: list[int]
    _commits: int  # commits since the last checkpoint
    _shrink: bool  # a backlog has drained (or the file was just opened): look for space to give back
    _peak: int

    def maintenance_due(self) -> bool:
        with self._clock:
            if self._commits >= CHECKPOINT_COMMITS or (self._shrink and sum(self._counts) <= VACUUM_QUEUE_MAX):
                return True
        return self._wal_big()

    def _wal_big(self) -> bool:
        # A drain's deletes write many pages per commit: the -wal file's size is the honest measure.
        try:
            return os.stat(f"{self.path}-wal").st_size > WAL_CHECKPOINT_BYTES
        except OSError:
            return False

    def maintain(self) -> bool:
        """One bounded step of upkeep on the drain connection (the DB thread, never a call's commit):
        once a backlog has drained, give up to VACUUM_STEP free pages back; checkpoint the WAL every
        CHECKPOINT_COMMITS commits and after the last step. Returns True while there is more to do."""
        with self._dlock:
            with self._clock:
                shrink = self._shrink and sum(self._counts) <= VACUUM_QUEUE_MAX
                self._shrink = False
            vacuumed = more = False
            if shrink:
                free = self._d.execute("PRAGMA freelist_count").fetchone()[0]
                if free >= VACUUM_MIN_FREE:
                    self._vacuum_locked(min(free, VACUUM_STEP))
                    vacuumed, more = True, free - VACUUM_STEP >= VACUUM_MIN_FREE
            with self._clock:
                self._shrink = self._shrink or more
                checkpoint = self._commits >= CHECKPOINT_COMMITS or (vacuumed and not more)
                if checkpoint:
                    self._commits = 0
            if checkpoint or self._wal_big():
                busy, frames, done = self._d.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if vacuumed and not more and not busy and frames == done and frames > 0:
                    # Backlog gone: one tiny write restarts the WAL, which cuts the -wal file back
                    # to WAL_LIMIT_BYTES now rather than at some later commit.
                    self._d.execute("UPDATE meta SET one = 1")
        return more

    def _vacuum_locked(self, pages: int) -> None:
        # One transaction; page by page, as Python's sqlite3 runs this PRAGMA a single step per call.
        self._d.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(pages):
                self._d.execute("PRAGMA incremental_vacuum(1)")
            self._d.execute("COMMIT")
        except BaseException:
            rollback(self._d)
            raise


def read_next_seq(conn: sqlite3.Connection) -> int:
    """The next seq recorded in a file of either schema (for a card only readable, hub.core.store)."""
    found = 1
    for query, add in (("SELECT next_seq FROM meta", 0), ("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'", 1)):
        try:
            row = conn.execute(query).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            continue
        if row:
            found = max(found, int(row[0]) + add)
    return found


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
