"""The outbox file written for an SD card: one b-tree per row, two WAL frames per commit, counts and
seqs kept in the file, the move from the first schema, and space given back after a drain."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from support import wait_until

from hub.core.events import Event
from hub.core.outbox import SEQ_BLOCK, Outbox, Row
from hub.core.outbox_file import SEQ_BITS, VERSION
from hub.core.store import Store

FRAME = 4096 + 24  # a WAL frame: one page and its header


def ev(event_type: str, n: int = 0, size: int = 0) -> Event:
    return Event(event_type, {"n": n, "pad": "x" * size}, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def grouped(path: Path) -> dict[int, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT k >> ?, count(*) FROM queue GROUP BY 1", (SEQ_BITS,)).fetchall())


def test_one_btree_per_row_and_two_wal_frames_per_commit(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        ob.remove([ob.add(ev("call.raised"))])  # the file has its pages
        before = wal_bytes(path)
        row = ob.add(ev("call.raised"))
        assert wal_bytes(path) - before <= 2 * FRAME  # the row's leaf and the meta row
        before = wal_bytes(path)
        assert ob.remove([row]) == 1
        assert wal_bytes(path) - before <= 2 * FRAME
    with sqlite3.connect(path) as db:
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'queue'"
        assert db.execute(indexes).fetchall() == []
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION


def test_counts_are_kept_in_the_file_and_agree_with_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h", max_rows=100) as ob:
        rows = [ob.add(ev(t, i)) for i, t in enumerate(["call.raised", "measurement.glucose", "telemetry.x"] * 40)]
        ob.remove(rows[:7] + rows[50:53])
        ob.add_rows(rows[:2])  # same key twice: put back once, never doubled
        ob.add_rows(rows[:2])
        depth = ob.depth()
    # 40 of each; 4 calls and 3 readings delivered, a call and a reading put back.
    assert (depth["urgent"], depth["measurement"]) == (37, 38) and 0 < depth["telemetry"] < 40  # some evicted
    on_disk = grouped(path)
    assert [on_disk.get(p, 0) for p in range(3)] == [depth["urgent"], depth["measurement"], depth["telemetry"]]
    with Outbox(path, "h", "p/h", max_rows=100) as again:
        assert again.depth() == depth


def test_an_outbox_of_the_first_schema_is_moved_over_with_its_rows_and_seqs(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                priority INTEGER NOT NULL, type TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL,
                created REAL NOT NULL);
            CREATE INDEX outbox_order ON outbox (priority, seq);
            CREATE TABLE open_alarms (id TEXT PRIMARY KEY, key TEXT NOT NULL, body TEXT NOT NULL);
            INSERT INTO open_alarms VALUES ('a1', 'call:17', '{}');""")
        for seq, prio, kind in [(3, 2, "telemetry.x"), (5, 0, "call.raised"), (9, 1, "measurement.glucose")]:
            db.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, 't', 'p', 0)", (seq, f"id{seq}", prio, kind))
        db.execute("INSERT INTO outbox VALUES (40, 'gone', 0, 'call.raised', 't', 'p', 0)")
        db.execute("DELETE FROM outbox WHERE seq = 40")  # the highest seq ever used is only in sqlite_sequence
    with Outbox(path, "h", "p/h") as ob:
        assert [(r.seq, r.id, r.priority) for r in ob.pending(10)] == [(5, "id5", 0), (9, "id9", 1), (3, "id3", 2)]
        assert ob.depth() == {"urgent": 1, "measurement": 1, "telemetry": 1}
        assert ob.add(ev("call.raised")).seq == 41
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT id FROM open_alarms").fetchall() == [("a1",)]
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # kept, empty, for a rollback
    with Outbox(path, "h", "p/h") as ob:  # moved once; opening again changes nothing
        assert [r.seq for r in ob.pending(10)] == [5, 41, 9, 3]


def test_an_older_version_started_by_a_rollback_finds_its_table_and_a_fresh_seq(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        call = ob.add(ev("call.raised"))
        used = max(call.seq, *(ob.volatile_seq() for _ in range(SEQ_BLOCK + 3)))
    # What the first schema's code does on this file (hub.core.outbox before issue 23): its table is
    # there, and AUTOINCREMENT gives it a seq above every one this version used.
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as old:
        old.execute("CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, seq)")
        old.execute("INSERT INTO outbox (id, priority, type, topic, payload, created) "
                    "VALUES ('old-1', 0, 'call.raised', 'p/h/event/call', '{}', 0)")
        (old_seq,) = old.execute("SELECT seq FROM outbox WHERE id = 'old-1'").fetchone()
        assert old.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1  # it sees only its own rows
    assert old_seq > used
    with Outbox(path, "h", "p/h") as ob:  # the update is sent again: the old version's row moves over
        assert [(r.id, r.seq) for r in ob.pending(10)] == [(call.id, call.seq), ("old-1", old_seq)]
        assert ob.add(ev("call.raised")).seq > old_seq


def test_the_file_gives_space_back_after_a_drain_in_bounded_steps(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        rows = [ob.add(ev("measurement.glucose", i, size=900)) for i in range(3000)]
        ob.maintain()
        full = path.stat().st_size
        for i in range(0, len(rows), 256):
            ob.remove(rows[i:i + 256])
        assert len(ob) == 0 and ob.maintenance_due()
        steps = 0
        while ob.maintain():
            steps += 1
        assert steps >= 2  # more than one bounded step for ~1,000 free pages
        assert not ob.maintenance_due()
        assert path.stat().st_size < full / 4, (full, path.stat().st_size)
        row = ob.add(ev("call.raised"))  # and the file still works
        assert ob.pending(5) == [row]


def test_telemetry_is_sent_from_memory_latest_wins_and_never_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db", "h", "p/h")
    try:
        first, saved = store.add(ev("telemetry.environment", 1))
        device, _ = store.add(ev("telemetry.device", 2))
        latest, _ = store.add(ev("telemetry.environment", 3))
        call, _ = store.add(ev("call.raised"))
        assert saved and first.seq < device.seq < latest.seq < call.seq
        assert [r.id for r in store.pending(10)] == [call.id, device.id, latest.id]
        assert store.depth() == {"urgent": 1, "measurement": 0, "telemetry": 2}
        assert grouped(tmp_path / "o.db") == {0: 1}  # only the call is on the card
        assert store.remove([first]) == 0  # superseded, maybe in flight: its PUBACK deletes nothing
        assert store.remove([latest, device, call]) == 3
        assert store.pending(10) == [] and len(store) == 0
    finally:
        store.close()


def test_seqs_given_from_memory_are_never_reused_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        used = [ob.volatile_seq() for _ in range(SEQ_BLOCK + 5)]  # crosses a reserved block
    assert used == sorted(set(used))
    with Outbox(path, "h", "p/h") as ob:
        nxt = ob.add(ev("call.raised")).seq
    assert max(used) < nxt <= max(used) + SEQ_BLOCK


def test_a_call_commits_while_the_drain_holds_its_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "o.db", "h", "p/h")
    try:
        backlog = [store.add(ev("measurement.glucose", i))[0] for i in range(50)]
        assert store.outbox is not None
        done: list[Row] = []
        with store.outbox._dlock:  # a drain step in progress on the DB thread (delete, checkpoint, vacuum)
            t = threading.Thread(target=lambda: done.append(store.add(ev("call.raised"))[0]))
            t.start()
            assert wait_until(lambda: bool(done), 10, "the call's commit while the drain holds its lock")
            assert store.depth()["urgent"] == 1  # status: counts, no query behind the drain either
        t.join()
        assert store.remove(backlog) == 50 and store.pending(5) == done
    finally:
        store.close()


def test_a_new_file_is_made_for_incremental_vacuum_and_wal(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "h", "p/h") as ob:
        assert ob._w.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ob._w.execute("PRAGMA synchronous").fetchone()[0] == 2  # inserts: FULL
        assert ob._d.execute("PRAGMA synchronous").fetchone()[0] == 1  # deletes: NORMAL
        assert ob._w.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # never on a call's commit
