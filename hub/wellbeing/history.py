"""The daily summaries on the card: one JSON line appended per day, fsynced, read back at start.

About 2 kB a day, written once a day: the only thing wellbeing writes. The day's running counts live in
memory; a power cut loses the part of the day before it, and that day's summary then says `partial` with
the time it covers from (honest, and kept out of the norm). A line torn by a power cut is skipped with a
log line; the file is rewritten (atomically) only to drop days older than `KEEP_DAYS`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from hub.core.files import atomic_write

log = logging.getLogger(__name__)

FILENAME = "wellbeing.jsonl"
KEEP_DAYS = 62  # a 30-day report, and the 14-day norm for its first day
MAX_LINE = 64 * 1024


class History:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILENAME
        self.days: list[dict[str, Any]] = []

    def load(self) -> list[dict[str, Any]]:
        self._cut_torn_tail()
        self.days = read_days(self.path)
        return self.days

    def _cut_torn_tail(self) -> None:
        """A power cut mid-append leaves a line without its newline: cut it off, or the next day's line
        would be glued onto it and lost too."""
        try:
            with self.path.open("r+b") as fh:
                size = fh.seek(0, os.SEEK_END)
                if size == 0:
                    return
                fh.seek(max(0, size - MAX_LINE))
                tail = fh.read()
                if tail.endswith(b"\n"):
                    return
                keep = size - len(tail) + tail.rfind(b"\n") + 1
                log.warning("%s: cut %d bytes of a day torn by a power cut", self.path, size - keep)
                fh.truncate(keep)
                os.fsync(fh.fileno())
        except FileNotFoundError:
            return

    def append(self, day: dict[str, Any]) -> None:
        """Add one day (replacing a day of the same date) and make it durable before returning."""
        replaced = any(d.get("date") == day.get("date") for d in self.days)
        self.days = [d for d in self.days if d.get("date") != day.get("date")] + [day]
        line = (json.dumps(day, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if len(self.days) > 2 * KEEP_DAYS or replaced:
            self._rewrite()
            return
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _rewrite(self) -> None:
        self.days = sorted(self.days, key=lambda d: str(d.get("date")))[-KEEP_DAYS:]
        body = "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in self.days)
        atomic_write(self.path, body.encode())


def read_days(path: Path) -> list[dict[str, Any]]:
    """Every whole day in the file, oldest first, the latest line winning for a date."""
    if not path.exists():
        return []
    by_date: dict[str, dict[str, Any]] = {}
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            if len(raw) > MAX_LINE or not raw.endswith(b"\n"):
                log.warning("%s:%d: skipped a torn or oversized line (%d bytes)", path, n, len(raw))
                continue
            try:
                day = json.loads(raw)
            except ValueError:
                log.warning("%s:%d: skipped a line that is not JSON", path, n)
                continue
            if isinstance(day, dict) and isinstance(day.get("date"), str):
                by_date[day["date"]] = day
    return [by_date[d] for d in sorted(by_date)]
