"""The uplink's rows waiting for the wire: a heap in delivery order (priority, then seq) of rows raised
since the last read and rows read from the outbox, which is read a batch at a time after a cursor.

The next batch is read in the background once half of the last is sent, so a drain keeps sending while
the DB thread (shared with the drain's deletes and the WAL checkpoints) reads; the sender waits for a
read only when it has nothing else to send. A batch read across a reconnect is dropped: after one,
everything not in paho's hands is read again from the start.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hub.core.outbox import Row, RowSource

log = logging.getLogger(__name__)

FETCH_BATCH = 512  # outbox rows read per query while draining a backlog
OFFERS_KEPT = 256  # (id, seq) of the latest rows offered: the same row offered again among them is a no-op


class BacklogReader:
    outbox: RowSource
    db: Callable[..., Awaitable[Any]]  # runs an outbox method on the DB worker thread
    _sent: dict[int, Row]  # mid -> row handed to paho and awaiting PUBACK
    _acked: list[Row]  # PUBACKed, not yet deleted
    _waiting: set[str]  # refused ids waiting out their retry delay
    _wake: asyncio.Event

    def _init_backlog(self) -> None:
        self._fresh: list[tuple[int, int, Row]] = []  # heap of rows waiting here
        self._cursor: tuple[int, int] | None = None  # last (priority, seq) read from the outbox
        self._backlog = True  # the outbox may hold rows not yet read
        self._fetching: asyncio.Future[None] | None = None  # the next batch, being read
        self._generation = 0  # connections so far
        self._offered: dict[tuple[str, int], None] = {}  # latest offers, oldest first

    def _offered_before(self, row: Row) -> bool:
        """This row (its id and seq) was offered already. A call is offered before its commit's fsync and
        again after it (hub.core.app): the second must not put it on the wire twice. The same id with
        another seq is another row (a commit that failed is kept in memory with a new seq, and goes
        out). Offers of one row come back to back, so the latest OFFERS_KEPT suffice."""
        return (row.id, row.seq) in self._offered

    def _note_offered(self, row: Row) -> None:
        """Noted once the offer went through: an offer that raised is made again in full."""
        self._offered[(row.id, row.seq)] = None
        if len(self._offered) > OFFERS_KEPT:
            del self._offered[next(iter(self._offered))]

    def _restart_backlog(self) -> None:
        """A new connection: rows not already in paho's hands are read again, in order, from the start."""
        self._fresh.clear()
        self._generation += 1
        self._cursor = None
        self._backlog = True

    def _queue(self, row: Row) -> None:
        heapq.heappush(self._fresh, (row.priority, row.seq, row))

    def _pop(self, in_flight: set[str]) -> Row | None:
        """The next row waiting here that is not in flight nor waiting out a refusal, or None; starts
        reading the next batch once fewer than half a batch wait."""
        if self._backlog and self._fetching is None and len(self._fresh) < FETCH_BATCH // 2:
            self._fetching = asyncio.ensure_future(self._fetch(self._generation))
        while self._fresh:
            _, _, row = heapq.heappop(self._fresh)
            if row.id not in in_flight and row.id not in self._waiting:
                return row
        return None

    async def _next_row(self) -> Row | None:
        row = self._pop({r.id for r in self._sent.values()})
        if row is None and self._fetching is not None:
            await asyncio.shield(self._fetching)  # nothing else to send meanwhile
            row = self._pop({r.id for r in self._sent.values()})
        return row

    async def _fetch(self, generation: int) -> None:
        # A snapshot: the DB thread must not iterate what the loop changes. Rows PUBACKed but not yet
        # deleted (batched) are skipped too: a quick reconnect must not resend them. Only those past
        # the cursor: the query never returns a row at or before it, and each id skipped is one more
        # row read (a drain's thousands of acked rows made every batch ten times the rows sent).
        cursor = self._cursor
        skip = self._waiting | {r.id for r in (*self._sent.values(), *self._acked)
                                if cursor is None or (r.priority, r.seq) > cursor}
        try:
            batch = await self.db(self.outbox.pending, FETCH_BATCH, skip, cursor)
        except Exception:  # a bug, not the card (hub.core.store handles that): log it, read again later
            log.exception("uplink: reading the outbox failed; tried again at the next PUBACK or event")
            return
        finally:
            self._fetching = None
        if generation != self._generation:
            return  # reconnected meanwhile
        self._backlog = bool(batch)
        for row in batch:
            self._queue(row)
        if batch:
            self._cursor = (batch[-1].priority, batch[-1].seq)
        self._wake.set()
