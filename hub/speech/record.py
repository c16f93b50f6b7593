"""What she heard is on record: every utterance as it was played, kept for a week, read by `hub spoken`.

The speech queue (hub.speech.queue) hands each utterance it has finished playing (or cut, or that was
said with [voice] enabled = false) to `SpokenRecord.add`, on the loop. The record keeps it in memory and
appends the batch to one JSON line per utterance in `state_dir/spoken/spoken-YYYYMMDD.jsonl` (UTC day)
off the loop, once the oldest line has waited FLUSH_S or BATCH lines are waiting, and at exit. Files
older than `days` are deleted when a new day's file is started, and the oldest go first while all of
them together are over MAX_BYTES. A line cut short by a power cut is skipped when read.

Why a file of its own and not the outbox database: the record is written at the speed the unit
speaks, not the speed of events, and nothing waits on it; one append of a few hundred bytes every
30 s at most while the unit talks, and nothing while it is silent (figures in docs/voice.md).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FOLDER = "spoken"
FLUSH_S = 30.0  # the oldest unwritten line waits at most this long (a power cut loses at most this)
BATCH = 32  # ... or this many lines
MAX_BYTES = 48 << 20  # all files together: 8 days even of speech without a pause (5.8 MB a day); usually < 1 MB
DAYS = 8  # files older than this are deleted: at least 7 whole days are kept
_NAME = re.compile(r"spoken-(\d{8})\.jsonl$")
_OPEN: weakref.WeakSet[SpokenRecord] = weakref.WeakSet()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line_of(entry: dict[str, Any]) -> dict[str, Any]:
    """A speech-queue history entry (key, text, start/end on the queue's clock, `at` wall time of its end)
    -> the record's line: wall-clock start and end, the words heard, interrupted or not, what it is about."""
    ended = float(entry.get("at") or time.time())
    started = ended - max(0.0, float(entry.get("end", 0)) - float(entry.get("start", 0)))
    line: dict[str, Any] = {"key": entry.get("key", ""), "text": entry.get("text", ""), "start": iso(started),
                            "end": iso(ended), "played": bool(entry.get("played")),
                            "interrupted": bool(entry.get("interrupted"))}
    for flag in ("cut", "cancelled"):
        if entry.get(flag):
            line[flag] = True
    if entry.get("about"):
        line["about"] = str(entry["about"])
    return line


class SpokenRecord:
    def __init__(self, folder: Path, days: int = DAYS, max_bytes: int = MAX_BYTES) -> None:
        self.folder = folder
        self.days = days
        self.max_bytes = max_bytes
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # one writer at a time: the timer's batch, `flush()`, exit
        self._timer: asyncio.TimerHandle | None = None
        self._day = ""
        self._warned = False
        _OPEN.add(self)

    def add(self, entry: dict[str, Any]) -> None:
        """On the loop: keep this utterance; it is written with the next batch."""
        self._pending.append(line_of(entry))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if len(self._pending) >= BATCH:
            self._write_soon(loop)
        elif self._timer is None:
            self._timer = loop.call_later(FLUSH_S, self._write_soon, loop)

    def _write_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending and not loop.is_closed():
            batch, self._pending = self._pending, []
            try:
                loop.run_in_executor(None, self._write, batch)
            except RuntimeError:  # the loop is shutting down its executor: the last batch, written now
                self._write(batch)

    def flush(self) -> None:
        """Blocking: write what is waiting now (at exit; tests)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            self._write(batch)

    def unwritten(self) -> list[dict[str, Any]]:
        return list(self._pending)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                by_day: dict[str, list[dict[str, Any]]] = {}
                for line in batch:
                    by_day.setdefault(line["end"][:10].replace("-", ""), []).append(line)
                for day, lines in by_day.items():
                    path = self.folder / f"spoken-{day}.jsonl"
                    body = "".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n" for x in lines)
                    if day != self._day and _torn(path):
                        body = "\n" + body  # a batch cut by a power cut: its broken line stays alone
                    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                    try:
                        os.write(fd, body.encode())
                        os.fsync(fd)  # one flash write per batch, and the batch survives a power cut
                    finally:
                        os.close(fd)
                    if day != self._day:
                        self._day = day
                        self._prune()
            except OSError as exc:  # a full or read-only card: speech goes on, the record waits for a new card
                (log.debug if self._warned else log.warning)("spoken record not written to %s: %s", self.folder, exc)
                self._warned = True

    def _prune(self) -> None:
        files = record_files(self.folder)
        oldest = (datetime.now(UTC) - timedelta(days=self.days)).strftime("%Y%m%d")
        total = 0
        for path in reversed(files):  # newest first: keep them while they fit
            size = path.stat().st_size
            if _day_of(path) < oldest or total + size > self.max_bytes:
                path.unlink()
                log.info("spoken record %s pruned (older than %d days, or over %d bytes)", path.name,
                         self.days, self.max_bytes)
            else:
                total += size


def _torn(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:  # absent or empty
        return False


def _day_of(path: Path) -> str:
    found = _NAME.search(path.name)
    return found.group(1) if found else ""


def record_files(folder: Path) -> list[Path]:
    """The record's files, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _NAME.search(p.name)), key=_day_of)


def read_record(folder: Path, since: float | None = None) -> Iterator[dict[str, Any]]:
    """Every utterance on record that ended at `since` (epoch seconds) or later, oldest first."""
    first_day = datetime.fromtimestamp(since, UTC).strftime("%Y%m%d") if since is not None else ""
    cut = iso(since) if since is not None else ""
    for path in record_files(folder):
        if _day_of(path) < first_day:
            continue
        with contextlib.suppress(FileNotFoundError), path.open(encoding="utf-8", errors="replace") as f:
            for raw in f:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue  # the last line of a batch cut by a power cut
                if isinstance(line, dict) and str(line.get("end", "")) >= cut:
                    yield line


@atexit.register
def _flush_all() -> None:
    for record in list(_OPEN):
        with contextlib.suppress(Exception):
            record.flush()
