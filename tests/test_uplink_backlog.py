"""The uplink's rows waiting for the wire (hub.core.uplink.backlog.BacklogReader) over a real Outbox: the
next batch is read in the background while the sender still has rows, the sender waits only when it has
none, and a batch read across a reconnect is dropped (after one, everything is read again from the
start: no row is skipped because a stale batch moved the cursor)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from hub.core.events import Event
from hub.core.outbox import Outbox, Row
from hub.core.uplink.backlog import FETCH_BATCH, BacklogReader


class Reader(BacklogReader):
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._sent: dict[int, Row] = {}
        self._acked: list[Row] = []
        self._waiting: set[str] = set()
        self._wake = asyncio.Event()
        self.gate = asyncio.Event()  # a DB thread that answers when the test says so
        self.reads = 0
        self._init_backlog()

    async def db(self, fn: Any, *args: Any) -> Any:
        self.reads += 1
        await self.gate.wait()
        return fn(*args)


def fill(outbox: Outbox, n: int) -> list[Row]:
    return [outbox.add(Event("measurement.glucose", {"i": i}, datetime.now(UTC))) for i in range(n)]


def test_the_next_batch_is_read_while_the_sender_still_has_rows(tmp_path) -> None:
    with Outbox(tmp_path / "o.db", "h", "p/h", max_rows=10_000) as outbox:
        rows = fill(outbox, FETCH_BATCH * 2 + 10)

        async def scenario() -> list[Row]:
            reader = Reader(outbox)
            first = asyncio.create_task(reader._next_row())
            await asyncio.sleep(0)
            assert not first.done()  # nothing here yet: the sender waits for the first batch
            reader.gate.set()
            out = [await first]
            reader.gate.clear()
            while reader._fetching is None:
                row = await reader._next_row()
                assert row is not None
                out.append(row)
            assert len(out) == FETCH_BATCH // 2 + 2  # half the batch sent: the next read has started...
            for _ in range(10):
                out.append(await reader._next_row())  # ...and the sender goes on meanwhile
                await asyncio.sleep(0)
            assert reader.reads == 2 and reader._fetching is not None and not reader.gate.is_set()
            reader.gate.set()
            while (row := await reader._next_row()) is not None:
                out.append(row)
            return out

        sent = asyncio.run(scenario())
        assert [r.id for r in sent] == [r.id for r in rows]  # all, once, in order


def test_a_batch_read_across_a_reconnect_is_dropped(tmp_path) -> None:
    with Outbox(tmp_path / "o.db", "h", "p/h", max_rows=10_000) as outbox:
        rows = fill(outbox, 20)

        async def scenario() -> list[Row]:
            reader = Reader(outbox)
            reader._cursor = (rows[9].priority, rows[9].seq)  # ten already sent on the old connection
            reading = asyncio.create_task(reader._next_row())
            await asyncio.sleep(0)
            reader._restart_backlog()  # reconnected while the DB thread read rows 11-20
            reader.gate.set()
            assert await reading is None  # the stale batch is not sent, nor does it move the cursor past 1-10
            out = []
            while (row := await reader._next_row()) is not None:
                out.append(row)
            return out

        assert [r.id for r in asyncio.run(scenario())] == [r.id for r in rows]
