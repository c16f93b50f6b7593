"""The inactivity history stored incrementally (hub.detect.inactivity.history): a save appends only what
changed, the file is rewritten only when it has grown (bounded), the old JSON is moved in once, lines a
power cut tore or that were never ours are skipped, and on the power-cut filesystem (tests/powercut.py)
what a save returned from is what the next start loads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from powercut import PowerCutFS, fuse_available

from hub.core.files import atomic_write
from hub.detect.inactivity.history import COMPACT_SLACK, LEGACY_FILE, History


def history(n: int, start: int = 0, away: bool = False) -> dict[str, Any]:
    """A to_dict() as the detector gives it: samples (ts, minute of day, source, seconds), wakes, bedtimes,
    scalars."""
    samples = [[1.7e9 + i * 600.0, round((i * 10) % 1440 + 0.5, 2), "pir" if i % 3 else "door:front", 600.0]
               for i in range(start, start + n)]
    return {"version": 1, "first_seen": "2026-11-01T06:00:00+08:00", "samples": samples,
            "wakes": [[1.7e9 + d * 86400.0, 412.5] for d in range(start // 100, start // 100 + 3)],
            "bedtimes": [[1.7e9 + d * 86400.0, 690.0] for d in range(start // 100, start // 100 + 3)],
            "away": away, "away_since": "2026-12-01T09:00:00+08:00" if away else None}


def test_a_save_appends_only_the_change(tmp_path: Path) -> None:
    store = History(tmp_path)
    store.save(history(2000))  # first save: the whole history, written atomically
    whole = store.path.stat().st_size
    assert store.appended_bytes == whole and whole > 50_000
    store.save(history(2000, start=1))  # one learned, the oldest pruned
    assert 0 < store.appended_bytes < 300 and store.path.stat().st_size == whole + store.appended_bytes
    store.save(history(2000, start=1))  # nothing changed: nothing written
    assert store.appended_bytes == 0
    assert History(tmp_path).load() == history(2000, start=1)


def test_the_file_stays_bounded_as_the_window_rolls(tmp_path: Path) -> None:
    store, live = History(tmp_path), 100
    for day in range(1000):
        store.save(history(live, start=day, away=day % 7 == 0))
        rows = live + 3  # samples and wakes
        assert store.lines <= 2 * rows + COMPACT_SLACK + 10  # rewritten whole once it grows past that
    assert History(tmp_path).load() == history(live, start=999, away=False)


def test_the_old_json_is_moved_in_once(tmp_path: Path) -> None:
    old = history(300, away=True)
    (tmp_path / LEGACY_FILE).write_text(json.dumps(old), encoding="utf-8")
    assert History(tmp_path).load() == old
    assert not (tmp_path / LEGACY_FILE).exists() and (tmp_path / "inactivity.log").exists()
    again = History(tmp_path)
    assert again.load() == old
    again.save(history(300, start=1, away=True))
    assert History(tmp_path).load() == history(300, start=1, away=True)


def test_an_unreadable_old_json_is_an_error_for_the_caller(tmp_path: Path) -> None:
    (tmp_path / LEGACY_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        History(tmp_path).load()


def test_torn_foreign_and_malformed_lines_are_skipped(tmp_path: Path) -> None:
    store = History(tmp_path)
    store.save(history(5))
    good = history(5)
    with open(store.path, "ab") as f:
        f.write(b"\n".join([
            b"not json at all",
            b'{"+s": "a string, not a row"}',
            b'{"+s": [true, 1, 2, 3]}',  # wrong type inside
            b'{"+s": [[1], 2, 3, 4]}',
            b'{"+s": [' + b"1," * 3000 + b'1]}',  # oversize
            b'{"+x": [1, 2]}',  # unknown tag
            b'{"+s": [1, 2, "pir", 3], "+w": [1, 2]}',  # two records in one line
            b'{"state": ["not", "an", "object"]}',
            json.dumps({"+s": good["samples"][0]}).encode(),  # the same row again: still one
            b'{"+s": [1.7e9, 1.5, "pir", 6',  # torn by a power cut mid-append
        ]))
    loaded = History(tmp_path).load()
    assert loaded == good
    again = History(tmp_path)
    again.load()
    again.save(history(5, start=1))  # starts on a fresh line after the torn one
    assert History(tmp_path).load() == history(5, start=1)


def test_a_log_without_its_state_line_loads_as_nothing(tmp_path: Path) -> None:
    (tmp_path / "inactivity.log").write_bytes(b'{"+s": [1.7e9, 1.5, "pir", 60.0]}\n')
    store = History(tmp_path)
    assert store.load() is None
    store.save(history(3))
    assert History(tmp_path).load() == history(3)


@pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available()))
def test_what_a_save_returned_from_survives_a_power_cut(tmp_path: Path) -> None:
    with PowerCutFS(tmp_path / "card") as fs:
        state = fs.path / "state"
        state.mkdir()
        fs.sync()
        atomic_write(state / LEGACY_FILE, json.dumps(history(50)).encode())  # a hub of the old version
        fs.cut()
        store = History(state)
        assert store.load() == history(50)  # moved in
        fs.cut()  # the move itself is durable
        assert History(state).load() == history(50) and not (state / LEGACY_FILE).exists()
        store = History(state)
        store.load()
        for day in range(1, 40):
            store.save(history(50, start=day, away=day % 5 == 0))
            if day % 3 == 0:  # power cut after this save returned
                fs.cut()
                store = History(state)
                assert store.load() == history(50, start=day, away=day % 5 == 0)
        # an append the power cut caught before its fsync: gone, the rest intact
        fd = os.open(state / "inactivity.log", os.O_WRONLY | os.O_APPEND)
        os.write(fd, b'{"+s": [1.8e9, 2.5, "pir", 60.0]}\n{"state": {"version": 1, "away": true}}\n')
        os.close(fd)
        fs.cut()
        assert History(state).load() == history(50, start=39, away=False)
