"""What the hub remembers about paired meters, in SQLite under state_dir (survives reboots).

- meters: paired address, kind (bp/glucose), name, the highest glucose sequence stored after a
  successful download, and whether the meter numbers records backwards;
- seen: de-duplication keys (meter, sequence, meter time) of readings already handed to the hub;
- history: graded values of the last weeks for the 7-day management level;
- kv: small facts such as when the last weekly follow-up went out.

Calls are short and synchronous; the async callers run them in a worker thread (asyncio.to_thread),
hence one connection shared under a lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILENAME = "meters.sqlite"
# A watcher reads the paired list again at every RELOOK-th look even with its files unchanged: a safety
# net for a change the stat cannot see (two commits in one coarse mtime tick that leave the size alone).
RELOOK = 6
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meters (address TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,
    paired_at TEXT NOT NULL, last_sequence INTEGER, reversed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seen (address TEXT NOT NULL, sequence INTEGER NOT NULL, time TEXT NOT NULL,
    PRIMARY KEY (address, sequence, time));
CREATE TABLE IF NOT EXISTS history (kind TEXT NOT NULL, ts TEXT NOT NULL, a REAL, b REAL, meal TEXT);
CREATE INDEX IF NOT EXISTS history_ts ON history (kind, ts);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class PairedMeter:
    address: str
    kind: str  # "bp" | "glucose"
    name: str
    paired_at: str
    last_sequence: int | None = None
    reversed: bool = False


def norm(address: str) -> str:
    return address.strip().upper()


class MeterStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None
        )
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> MeterStore:
        return cls(Path(state_dir) / FILENAME)

    def __enter__(self) -> MeterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                raise RuntimeError(f"meter store {self.path} is closed")
            return self._db.execute(sql, args).fetchall()

    # pairing
    def pair(self, address: str, kind: str, name: str, when: datetime) -> None:
        if kind not in ("bp", "glucose"):
            raise ValueError(f"meter kind must be 'bp' or 'glucose', got {kind!r}")
        self._run(
            "INSERT INTO meters (address, kind, name, paired_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET kind=excluded.kind, name=excluded.name",
            (norm(address), kind, name, when.isoformat()),
        )

    def unpair(self, address: str) -> bool:
        before = self.get(address)
        self._run("DELETE FROM meters WHERE address = ?", (norm(address),))
        return before is not None

    def get(self, address: str) -> PairedMeter | None:
        rows = self._run(
            "SELECT address, kind, name, paired_at, last_sequence, reversed FROM meters WHERE address = ?",
            (norm(address),),
        )
        return _meter(rows[0]) if rows else None

    def files_stamp(self) -> tuple[tuple[int, int, int], ...] | None:
        """The database and its -wal as the file system sees them (inode, size, mtime): a commit from any
        connection changes one. A stat, no query: cheap enough for the event loop. None without a file."""
        stamps = []
        for p in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                st = os.stat(p)
                stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                stamps.append((0, 0, 0))
        return None if stamps[0] == (0, 0, 0) else tuple(stamps)

    def unchanged(self, stamp: tuple[tuple[int, int, int], ...] | None,
                  fresh: tuple[tuple[int, int, int], ...] | None, looks: int) -> bool:
        """Whether a watcher of the paired list may skip reading it at this look: its files unchanged
        since `stamp`, except at every RELOOK-th look (a change the stat cannot see)."""
        return fresh == stamp and stamp is not None and looks % RELOOK != 0

    def meters(self) -> list[PairedMeter]:
        rows = self._run(
            "SELECT address, kind, name, paired_at, last_sequence, reversed FROM meters ORDER BY paired_at"
        )
        return [_meter(r) for r in rows]

    def set_last_sequence(self, address: str, sequence: int | None) -> None:
        self._run("UPDATE meters SET last_sequence = ? WHERE address = ?", (sequence, norm(address)))

    def set_reversed(self, address: str, reversed_: bool = True) -> None:
        self._run("UPDATE meters SET reversed = ? WHERE address = ?", (int(reversed_), norm(address)))

    # de-duplication
    def seen(self, address: str, sequence: int, time: str) -> bool:
        return bool(
            self._run(
                "SELECT 1 FROM seen WHERE address = ? AND sequence = ? AND time = ?",
                (norm(address), sequence, time),
            )
        )

    def mark_seen(self, address: str, sequence: int, time: str) -> None:
        self._run(
            "INSERT OR IGNORE INTO seen (address, sequence, time) VALUES (?, ?, ?)",
            (norm(address), sequence, time),
        )

    # history for the trends
    def add_history(
        self, kind: str, ts: datetime, a: float, b: float | None = None, meal: str | None = None
    ) -> None:
        self._run(
            "INSERT INTO history (kind, ts, a, b, meal) VALUES (?, ?, ?, ?, ?)",
            (kind, _utc_key(ts), a, b, meal),
        )

    def history(self, kind: str, since: datetime) -> list[tuple[float, float | None, str | None]]:
        rows = self._run(
            "SELECT a, b, meal FROM history WHERE kind = ? AND ts >= ? ORDER BY ts", (kind, _utc_key(since))
        )
        return [(float(a), None if b is None else float(b), meal) for a, b, meal in rows]

    def history_at(self, kind: str, since: datetime) -> list[tuple[str, float, float | None, str | None]]:
        """Like `history`, with each reading's time (ISO, UTC): for charts (`hub report`)."""
        rows = self._run(
            "SELECT ts, a, b, meal FROM history WHERE kind = ? AND ts >= ? ORDER BY ts", (kind, _utc_key(since))
        )
        return [(str(ts), float(a), None if b is None else float(b), meal) for ts, a, b, meal in rows]

    def prune_history(self, before: datetime) -> None:
        self._run("DELETE FROM history WHERE ts < ?", (_utc_key(before),))

    def get_value(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_value(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )


def _meter(row: tuple[Any, ...]) -> PairedMeter:
    address, kind, name, paired_at, last, rev = row
    return PairedMeter(address, kind, name, paired_at, last, bool(rev))


def _utc_key(ts: datetime) -> str:
    """Sortable text key: aware times in UTC so zone changes do not reorder history."""
    if ts.tzinfo is None:
        raise ValueError("history time stamps must be timezone-aware")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
