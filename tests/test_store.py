"""The queue with degraded storage mode (hub.core.store) on real full and read-only filesystems."""

from __future__ import annotations

import errno
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faultfs import bind_mount, fill, tmpfs

from hub.core.events import Event
from hub.core.outbox import SEQ_BLOCK, Outbox, storage_failure
from hub.core.store import Store

TS = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def ev(event_type: str = "call.raised", n: int = 0) -> Event:
    return Event(event_type, {"n": n}, TS)


def store_at(path: Path, **kw: int) -> Store:
    return Store(path / "outbox.db", "hub-1", "eldercare/v1/hub-1", **kw)


def committed(path: Path) -> list[tuple[int, str]]:
    with Outbox(path / "outbox.db", "hub-1", "p") as ob:
        return [(r.seq, r.type) for r in ob.pending(100)]


def test_a_full_card_keeps_the_call_in_memory_with_the_next_seq_and_commits_it_once_freed(tmp_path):
    with tmpfs(tmp_path / "card", "1m") as card:
        store = store_at(card)
        first, saved = store.add(ev("call.raised", 1))
        assert saved and store.fault is None
        filler = fill(card)
        call, saved = store.add(ev("call.raised", 2))
        tel, tel_saved = store.add(ev("measurement.glucose", 3))
        assert not saved and not tel_saved
        assert store.fault is not None and store.fault.reason == "disk_full"
        assert "SD card full" in store.fault.remedy
        assert [call.seq, tel.seq] == [first.seq + 1, first.seq + 2]
        assert json.loads(call.payload)["seq"] == call.seq
        # The uplink sees one queue, in delivery order, memory and disk together.
        assert [r.id for r in store.pending(10)] == [first.id, call.id, tel.id]
        assert store.depth() == {"urgent": 2, "measurement": 1, "telemetry": 0}
        assert store.unsaved() == 2 and store.is_unsaved(call.id) and not store.is_unsaved(first.id)
        assert not store.retry()  # still full
        filler.unlink()
        assert store.retry() and store.fault is None and store.unsaved() == 0
        after, saved = store.add(ev("call.raised", 4))
        assert saved and after.seq == tel.seq + 1
        store.close()
        assert committed(card) == [(first.seq, "call.raised"), (call.seq, "call.raised"),
                                   (after.seq, "call.raised"), (tel.seq, "measurement.glucose")]


def test_a_call_sent_before_its_commit_failed_on_a_full_card_is_kept_in_memory_under_a_new_seq(tmp_path):
    """The early send (hub.core.app: the message leaves while the card syncs) used its seq; the copy
    kept in memory, offered again, has the next one and the same event id (the platform de-duplicates
    by id), and is committed once, when the card has room again."""
    with tmpfs(tmp_path / "card", "1m") as card:
        store = store_at(card)
        first, _ = store.add(ev("call.raised", 1))
        filler = fill(card)
        early: list = []
        call, saved = store.add(ev("call.raised", 2), sending=early.append)
        assert not saved and store.fault is not None and store.fault.reason == "disk_full"
        assert [r.seq for r in early] == [first.seq + 1] and early[0].id == call.id
        assert call.seq == first.seq + 2 and store.is_unsaved(call.id)
        filler.unlink()
        assert store.retry()
        store.close()
        assert committed(card) == [(first.seq, "call.raised"), (call.seq, "call.raised")]


def test_a_delivered_unsaved_row_is_reported_and_never_committed(tmp_path):
    with tmpfs(tmp_path / "card", "1m") as card:
        store = store_at(card)
        delivered: list[list[str]] = []
        store.on_delivered = lambda rows: delivered.append([r.id for r in rows])
        filler = fill(card)
        call, saved = store.add(ev())
        assert not saved
        assert store.remove([call]) == 1
        assert delivered == [[call.id]] and store.pending(10) == []
        filler.unlink()
        assert store.retry()
        store.close()
        assert committed(card) == []


def test_the_hub_starts_on_a_full_card_and_recovers(tmp_path):
    with tmpfs(tmp_path / "card", "1m") as card:
        filler = fill(card)
        store = store_at(card)  # no exception: the hub must start
        assert store.fault is not None and store.fault.reason in ("disk_full", "cannot_open")
        call, saved = store.add(ev())
        assert not saved and call.seq == 1 and store.pending(5)[0].id == call.id
        filler.unlink()
        assert store.retry()
        store.close()
        assert committed(card) == [(1, "call.raised")]


def test_a_read_only_card_at_start_continues_the_seq_it_finds(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    before = store_at(state)
    for i in range(3):
        before.add(ev("alarm.fire", i))
    before.close()
    with bind_mount(state) as mount:
        mount.read_only()
        store = store_at(state)
        assert store.fault is not None and store.fault.reason in ("read_only", "cannot_open")
        row, saved = store.add(ev("call.raised"))
        # Read from the read-only file: above every seq used (the reserved block), never a repeat.
        assert not saved and 3 < row.seq <= 3 + SEQ_BLOCK
        assert [r.type for r in store.pending(10)] == ["call.raised"]  # the disk rows are unreadable here
        mount.read_write()
        assert store.retry()
        store.close()
        assert [s for s, _ in committed(state)] == [1, 2, 3, row.seq]


def test_memory_is_bounded_and_urgent_events_are_never_dropped(tmp_path):
    with tmpfs(tmp_path / "card", "1m") as card:
        fill(card)
        store = store_at(card, memory_rows=5)
        kept = [store.add(ev("call.raised", i))[0] for i in range(3)]
        for i in range(4):
            store.add(ev("measurement.glucose", i))
        kept += [store.add(ev("alarm.fire", i))[0] for i in range(3)]
        rows = store.pending(100)
        assert [r.id for r in rows] == [r.id for r in kept]  # 6 urgent rows > bound: telemetry went
        store.close()


@pytest.mark.parametrize(("exc", "reason"), [
    (OSError(errno.ENOSPC, "No space left on device"), "disk_full"),
    (OSError(errno.EROFS, "Read-only file system"), "read_only"),
    (OSError(errno.EIO, "Input/output error"), "io_error"),
    (sqlite3.OperationalError("database or disk is full"), "disk_full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "read_only"),
    (sqlite3.OperationalError("disk I/O error"), "io_error"),
    (OSError(errno.ENOENT, "No such file"), None),
    (sqlite3.ProgrammingError("Cannot operate on a closed database."), None),
    (ValueError("bug"), None),
])
def test_what_counts_as_the_card_failing(exc, reason):
    assert storage_failure(exc) == reason
