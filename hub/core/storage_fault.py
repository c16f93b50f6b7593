"""What the hub says about a card that refuses writes, and where it continues its seqs meanwhile
(hub.core.store keeps the events in memory until the card takes writes again)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from hub.core.outbox_file import read_next_seq as read_seq_from

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


def read_next_seq(path: Path) -> int:
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
                return read_seq_from(conn)
        except sqlite3.Error:
            continue
    return int(time.time() * 1000)
