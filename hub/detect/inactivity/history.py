"""The inactivity detector's learned history on the card, stored incrementally.

The detector hands over its whole state (`to_dict()`: the learned samples, the wake-up times and a few
scalars); rewriting all of it every ten minutes wrote ~250 kB a time after four weeks, a third of a
day's card writes. Here each save appends only what changed since the last one, as JSON lines, and
fsyncs the file once:

    {"+s": [ts, tod, source, duration]}   a sample learned       {"-s": [...]}  one pruned
    {"+w": [a, b]}                        a wake-up recorded     {"-w": [...]}  one pruned
    {"state": {...}}                      every other key of to_dict() (first_seen, away, version, ...)

Loading replays the lines into the same dict `to_dict()` gave. A line a power cut tore (the last one,
never fsynced) or that does not parse is skipped, and the next save starts on a fresh line. When the
file has grown to twice the live rows (plus some slack) it is rewritten whole, atomically
(`atomic_write`): bounded size, one rewrite every couple of weeks instead of 96 a day. A hub that kept
the old `inactivity.json` has it moved in once (written as a compact log, then the JSON removed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from hub.core.files import atomic_write

log = logging.getLogger(__name__)

LOG_FILE = "inactivity.log"
LEGACY_FILE = "inactivity.json"
LISTS = {"samples": "s", "wakes": "w", "bedtimes": "b"}  # to_dict() keys kept row by row -> their tag in the log
COMPACT_SLACK = 256  # lines beyond twice the live rows before the file is rewritten
MAX_LINE = 4096  # a longer line is not one this module wrote


def _row(value: Any) -> tuple[Any, ...] | None:
    """A sample or wake as a hashable tuple of JSON scalars, or None if it is not one."""
    if not isinstance(value, list) or not 1 <= len(value) <= 8:
        return None
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return None
    return tuple(value)


class History:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOG_FILE
        self.legacy = state_dir / LEGACY_FILE
        self.lines = 0  # lines in the file now (for compaction)
        self.appended_bytes = 0  # bytes the last save wrote (figures, tests)
        self._saved: dict[str, list[tuple[Any, ...]]] = {k: [] for k in LISTS}
        self._state: dict[str, Any] | None = None
        self._rewrite = False

    # --- loading ------------------------------------------------------------------------------
    def load(self) -> dict[str, Any] | None:
        """The last saved `to_dict()`, or None when nothing was saved yet. Raises ValueError when the
        old JSON file cannot be read (the caller moves it aside and starts afresh)."""
        if not self.path.exists() and self.legacy.exists():
            return self._migrate()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        rows: dict[str, dict[tuple[Any, ...], None]] = {k: {} for k in LISTS}
        state: dict[str, Any] | None = None
        self.lines = 0
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            self.lines += 1
            item = self._parse(line)
            if item is None:
                continue
            key, value = item
            if key == "state":
                state = value
                continue
            sign, tag = key[0], key[1:]
            name = next((n for n, t in LISTS.items() if t == tag), None)
            row = _row(value)
            if name is None or row is None:
                continue
            if sign == "+":
                rows[name][row] = None
            else:
                rows[name].pop(row, None)
        if state is None:
            self._rewrite = True  # nothing complete survived: the next save replaces the file
            return None
        self._state = state
        self._saved = {name: list(found) for name, found in rows.items()}
        with contextlib.suppress(TypeError):  # as to_dict() lists them: by time
            self._saved["samples"].sort()
        return {**state, **{name: [list(r) for r in found] for name, found in self._saved.items()}}

    @staticmethod
    def _parse(line: bytes) -> tuple[str, Any] | None:
        if len(line) > MAX_LINE:
            return None
        try:
            item = json.loads(line)
        except ValueError:
            return None  # torn by a power cut, or not ours
        if not isinstance(item, dict) or len(item) != 1:
            return None
        key, value = next(iter(item.items()))
        if key == "state":
            return (key, value) if isinstance(value, dict) else None
        if len(key) == 2 and key[0] in "+-" and key[1] in LISTS.values():
            return key, value
        return None

    def _migrate(self) -> dict[str, Any]:
        data = json.loads(self.legacy.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{self.legacy} does not hold an object")
        self._compact(data)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.legacy)
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)  # the unlink is durable: no second migration over newer rows after a cut
        finally:
            os.close(dir_fd)
        log.info("inactivity: history moved from %s to %s (appended, no longer rewritten)", self.legacy,
                 self.path)
        return data

    # --- saving -------------------------------------------------------------------------------
    def save(self, data: dict[str, Any]) -> None:
        """Append what changed since the last save (fsynced), or rewrite the file when it has grown."""
        state = {k: v for k, v in data.items() if k not in LISTS}
        current = {name: [r for r in map(_row, data.get(name) or []) if r is not None] for name in LISTS}
        live = sum(len(rows) for rows in current.values())
        if self._rewrite or not self.path.exists() or self.lines >= 2 * live + COMPACT_SLACK:
            self._compact(data)
            return
        out: list[bytes] = []
        for name, tag in LISTS.items():
            before, now = set(self._saved[name]), set(current[name])
            out += [self._line("-" + tag, list(r)) for r in self._saved[name] if r not in now]
            out += [self._line("+" + tag, list(r)) for r in current[name] if r not in before]
        if state != self._state:
            out.append(self._line("state", state))
        self.appended_bytes = 0
        if out:
            self._append(b"".join(out))
            self.lines += len(out)
            self.appended_bytes = sum(len(line) for line in out)
        self._saved, self._state = current, state

    @staticmethod
    def _line(key: str, value: Any) -> bytes:
        return json.dumps({key: value}, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"

    def _append(self, chunk: bytes) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            if size:  # a torn last line (power cut mid-append) must not swallow the next record
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    chunk = b"\n" + chunk
            os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _compact(self, data: dict[str, Any]) -> None:
        state = {k: v for k, v in data.items() if k not in LISTS}
        current = {name: [r for r in map(_row, data.get(name) or []) if r is not None] for name in LISTS}
        lines = [self._line("+" + tag, list(r)) for name, tag in LISTS.items() for r in current[name]]
        lines.append(self._line("state", state))  # last: a file that has it is complete
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = b"".join(lines)
        atomic_write(self.path, content)
        self.lines, self.appended_bytes = len(lines), len(content)
        self._saved, self._state, self._rewrite = current, state, False
