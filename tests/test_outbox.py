"""The durable outbox: order, persistence, eviction, and what a row looks like on the wire."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from hub.core.events import Event, Priority, event_topic, iso_ms, priority_of
from hub.core.outbox import Outbox


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.db", "hub-1", "eldercare/v1/hub-1", max_rows=100) as ob:
        yield ob


def ev(event_type: str, n: int = 0) -> Event:
    return Event(event_type, {"n": n}, datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))


def test_row_carries_the_envelope_with_seq_and_topic(outbox):
    row = outbox.add(ev("call.raised"))
    body = json.loads(row.payload)
    assert row.topic == "eldercare/v1/hub-1/event/call"
    assert body == {"v": 1, "id": row.id, "hub": "hub-1", "type": "call.raised",
                    "ts": "2026-01-02T03:04:05.679+00:00", "seq": row.seq, "data": {"n": 0}}


def test_delivery_order_is_priority_then_fifo(outbox):
    types = ["telemetry.environment", "measurement.glucose", "call.raised", "telemetry.device",
             "alarm.fire", "measurement.blood_pressure"]
    rows = [outbox.add(ev(t, i)) for i, t in enumerate(types)]
    order = [r.type for r in outbox.pending(10)]
    assert order == ["call.raised", "alarm.fire", "measurement.glucose", "measurement.blood_pressure",
                     "telemetry.environment", "telemetry.device"]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)


def test_pending_skips_in_flight_and_pages_with_a_cursor(outbox):
    rows = [outbox.add(ev("alarm.fire", i)) for i in range(5)]
    assert [r.id for r in outbox.pending(2, exclude={rows[0].id})] == [rows[1].id, rows[2].id]
    after = (rows[2].priority, rows[2].seq)
    assert [r.id for r in outbox.pending(10, after=after)] == [rows[3].id, rows[4].id]


def test_remove_and_depth(outbox):
    a, b, c = outbox.add(ev("call.raised")), outbox.add(ev("measurement.glucose")), outbox.add(ev("telemetry.x"))
    assert outbox.depth() == {"urgent": 1, "measurement": 1, "telemetry": 1}
    unknown = a.__class__(a.seq + 100, "unknown", a.priority, a.type, a.topic, a.payload)
    assert outbox.remove([a, c, unknown]) == 2
    assert outbox.depth() == {"urgent": 0, "measurement": 1, "telemetry": 0}
    assert len(outbox) == 1 and outbox.pending(5)[0].id == b.id


def test_remove_deletes_exactly_the_delivered_rows_between_undelivered_ones(outbox):
    # A drain's deletes go as ranges of consecutive keys: a row still in flight or refused between
    # delivered ones stays, as do rows of another priority with the same seqs' neighbours.
    rows = [outbox.add(ev("telemetry.x", i)) for i in range(12)]
    call = outbox.add(ev("call.raised"))
    delivered = rows[:4] + rows[5:9] + rows[10:11] + [call]  # rows[4] and rows[9] are still out
    assert outbox.remove(reversed(delivered)) == len(delivered)  # PUBACK order does not matter
    assert [r.id for r in outbox.pending(20)] == [rows[4].id, rows[9].id, rows[11].id]
    assert outbox.depth() == {"urgent": 0, "measurement": 0, "telemetry": 3}
    assert outbox.remove([*rows[:4], rows[4], rows[4]]) == 1  # removed twice, or twice in a batch: once


def test_full_queue_evicts_oldest_telemetry_never_calls_or_alarms(tmp_path):
    with Outbox(tmp_path / "o.db", "h", "p/h", max_rows=100) as ob:
        first_tel = ob.add(ev("telemetry.environment", -1))
        calls = [ob.add(ev("call.raised", i)) for i in range(60)]
        tel = [ob.add(ev("telemetry.environment", i)) for i in range(60)]
        assert len(ob) == 100
        ids = {r.id for r in ob.pending(1000)}
        assert all(c.id in ids for c in calls)
        assert first_tel.id not in ids and tel[-1].id in ids
        more_calls = [ob.add(ev("alarm.fire", i)) for i in range(80)]
        ids = {r.id for r in ob.pending(1000)}
        assert all(c.id in ids for c in calls + more_calls)  # over the bound rather than drop an alarm
        assert len(ob) == 140


def test_rows_and_seq_survive_reopen(tmp_path):
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        a = ob.add(ev("call.raised"))
        ob.remove([a])
        b = ob.add(ev("call.raised"))
    with Outbox(path, "h", "p/h") as ob:
        assert [r.id for r in ob.pending(10)] == [b.id]
        c = ob.add(ev("call.raised"))
        assert c.seq > b.seq > a.seq


def test_database_uses_wal_and_full_sync(tmp_path):
    path = tmp_path / "o.db"
    with Outbox(path, "h", "p/h") as ob:
        ob.add(ev("call.raised"))
        assert ob._w.execute("PRAGMA synchronous").fetchone()[0] == 2  # inserts: FULL
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_close_is_idempotent(tmp_path):
    ob = Outbox(tmp_path / "o.db", "h", "p/h")
    ob.close()
    ob.close()


@pytest.mark.parametrize("event_type,priority,topic", [
    ("call.raised", Priority.URGENT, "b/event/call"),
    ("alarm.fire_cleared", Priority.URGENT, "b/event/alarm"),
    ("measurement.blood_pressure", Priority.MEASUREMENT, "b/event/measurement"),
    ("telemetry.environment", Priority.TELEMETRY, "b/event/telemetry"),
    ("health.alert", Priority.URGENT, "b/event/health"),
])
def test_priority_and_topic_of_types(event_type, priority, topic):
    assert priority_of(event_type) == priority
    assert event_topic("b", event_type) == topic


def test_naive_time_stamps_are_refused():
    with pytest.raises(ValueError):
        iso_ms(datetime(2026, 1, 1))


@pytest.mark.parametrize("micro,expected", [(0, "00.000"), (499, "00.000"), (500, "00.001"), (999_600, "01.000")])
def test_time_stamps_round_to_the_nearest_millisecond(micro, expected):
    ts = datetime(2026, 1, 1, 8, 0, 0, micro, tzinfo=UTC)
    assert iso_ms(ts) == f"2026-01-01T08:00:{expected}+00:00"


def test_a_call_is_handed_to_its_sender_written_but_before_the_commit_syncs(outbox):
    """The message leaves while the card syncs: the sender gets the row the commit will hold, at a
    moment when no other connection can see it yet; once add() returns, it is on disk."""
    seen: list[tuple[object, int]] = []

    def sending(row) -> None:
        with sqlite3.connect(outbox.path) as other:
            seen.append((row, other.execute("SELECT count(*) FROM queue").fetchone()[0]))

    row = outbox.add(ev("call.raised"), sending=sending)
    assert seen == [(row, 0)]
    with sqlite3.connect(outbox.path) as other:
        assert other.execute("SELECT id FROM queue").fetchall() == [(row.id,)]


def test_a_commit_that_fails_after_its_row_was_sent_uses_up_the_seq(outbox):
    """No two messages ever go out with one seq: the one sent before the failed commit keeps its own."""
    outbox._w.execute("PRAGMA foreign_keys=ON")
    outbox._w.execute("CREATE TABLE parent (k INTEGER PRIMARY KEY)")
    outbox._w.execute("CREATE TABLE child (p INTEGER REFERENCES parent(k) DEFERRABLE INITIALLY DEFERRED)")
    sent: list[int] = []
    with pytest.raises(sqlite3.IntegrityError):  # a deferred constraint fails only at COMMIT
        outbox.add(ev("call.raised", 1), lambda c: c.execute("INSERT INTO child VALUES (7)"),
                   sending=lambda row: sent.append(row.seq))
    after = outbox.add(ev("call.raised", 2))
    assert after.seq == sent[0] + 1
    assert [r.seq for r in outbox.pending(10)] == [after.seq]
