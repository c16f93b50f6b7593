"""A backlog drain through a real mosquitto, in process (hub.core.uplink.session with a real Outbox): a call
committed during the drain goes to the broker ahead of every backlog row not yet handed to paho, into an
in-flight slot the backlog never takes; and the drain delivers every queued row exactly once and leaves
the outbox empty (its deletes go by ranges of keys, its fetches after a cursor)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from support import PREFIX, wait_until, write_config
from uplink_harness import running_uplink

from hub.config.loader import load
from hub.core.events import Event, event_topic
from hub.core.outbox import Outbox, Row
from hub.core.uplink.session import URGENT_SLOTS

pytestmark = pytest.mark.timeout(120)
N = 2000


def queue_backlog(outbox: Outbox, base: str, n: int) -> None:
    """n telemetry rows queued as a long outage leaves them (one transaction, as bench/backlog.py does)."""
    first = outbox.next_seq
    topic = event_topic(base, "telemetry.bench")
    rows = []
    for seq in range(first, first + n):
        ev = Event("telemetry.bench", {"i": seq - first}, datetime.now(UTC))
        rows.append(Row(seq, ev.id, int(ev.priority), ev.type, topic, ev.payload("test-0001", seq)))
    assert outbox.add_rows(rows) == n


def test_a_call_during_a_drain_goes_ahead_of_the_queued_rows_and_every_row_arrives_once(
        tmp_path, broker, subscriber) -> None:
    config = load(write_config(tmp_path / "hub" / "hub.toml", broker.port))
    sub = subscriber(f"{PREFIX}/test-0001/event/#")
    outbox = Outbox(config.state_dir / "outbox.db", config.hub_id, config.topic_base)
    queue_backlog(outbox, config.topic_base, N)
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with running_uplink(config, outbox) as (uplink, delivered):
            while len(delivered) < N // 10:  # the drain is under way, its window full
                await asyncio.sleep(0.001)
            row = outbox.add(Event("call.raised", {"button": "emergency"}, datetime.now(UTC)))
            # What the broker may take before the call: rows already PUBACKed, and those in flight now.
            seen["ahead"] = len(delivered) + uplink.in_flight
            seen["in_flight"] = uplink.in_flight
            uplink.offer(row)
            seen["call"] = row
            seen["handed"] = any(r.id == row.id for r in uplink._sent.values())
            while len(delivered) < N + 1:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the last batch of deletes (REMOVE_DELAY_S)

    try:
        asyncio.run(scenario())
        wait_until(lambda: len(sub.events()) >= N + 1, 30, lambda: f"{len(sub.events())} of {N + 1} arrived")
        assert len(outbox) == 0 and outbox.pending(10) == []
    finally:
        outbox.close()
    events = sub.events()
    call = seen["call"]
    before = next(i for i, e in enumerate(events) if e["id"] == call.id)
    assert seen["handed"]  # into paho at once, not behind the backlog in the sender's queue
    assert seen["in_flight"] <= config["mqtt"]["max_inflight"] - URGENT_SLOTS  # a free slot: on the wire now
    assert 0 < before <= seen["ahead"] < N  # only rows the broker already had or was being sent came first
    seqs = [e["seq"] for e in events if e["type"] == "telemetry.bench"]
    assert sorted(seqs) == list(range(seqs[0], seqs[0] + N)) == sorted(set(seqs))  # each exactly once
    assert seqs == sorted(seqs)  # and in order
