"""MQTT uplink: paho-mqtt 2 driven by the hub's asyncio loop (no network thread of its own).

Outbox rows are handed to paho only while connected, in delivery order, at most `max_inflight` (and
the broker's Receive Maximum) at a time. A row is deleted from the outbox only when its PUBACK carries
a success reason code (< 0x80); a refusal (0x87 Not authorized, 0x97 Quota exceeded, ...) keeps the
row, raises `fault.uplink` once and retries it with backoff (hub.core.uplink_delivery). Messages paho
already holds when the link drops are resent by paho itself on reconnect (same packet, DUP set);
everything else is fetched again from the outbox, so a restart or a long outage loses nothing.
Connecting, CONNACK limits, liveness and takeovers are in hub.core.uplink.connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from hub.config.loader import Config
from hub.core.outbox import Row, RowSource
from hub.core.uplink.backlog import BacklogReader
from hub.core.uplink.connection import Link
from hub.core.uplink.pacing import DrainPace
from hub.core.uplink.replies import refusal_word, remedy
from hub.core.uplink.status import StatusPublisher, StatusSource
from hub.core.uplink.tls_switch import CertSwitch

log = logging.getLogger(__name__)

CommandSink = Callable[[str, bytes], None]
DbCall = Callable[..., Awaitable[Any]]
Report = Callable[[str, dict[str, Any]], Coroutine[Any, Any, Any]]  # raise_event
Spawn = Callable[[str, Coroutine[Any, Any, Any]], Any]
REMOVE_DELAY_S = 0.3
URGENT_SLOTS = 2  # in-flight slots a backlog of lower priority never takes: a call goes out at once


class Uplink(BacklogReader, CertSwitch, StatusPublisher, Link):
    def __init__(self, config: Config, outbox: RowSource, db: DbCall, on_command: CommandSink,
                 status: StatusSource, report: Report, spawn: Spawn,
                 commands: Callable[[], Iterable[str]]) -> None:
        super().__init__(config, on_command, commands)
        self.outbox = outbox
        self.db = db  # runs an outbox method on the DB worker thread
        self.status = status
        self.report = report
        self.spawn = spawn
        self._init_status()  # the retained status (hub.core.uplink.status)
        self._init_backlog()  # rows waiting for the wire (hub.core.uplink.backlog)
        self._sent: dict[int, Row] = {}  # mid -> row handed to paho and awaiting PUBACK
        self._acked: list[Row] = []  # PUBACKed, deleted in a batch REMOVE_DELAY_S later
        self._remove_timer: asyncio.TimerHandle | None = None
        self._removing: asyncio.Future[Any] | None = None
        self._refused: dict[str, tuple[Row, int]] = {}  # id -> (row, refusals so far), until delivered
        self._waiting: set[str] = set()  # refused ids still waiting out their retry delay
        self._faults: dict[str, str] = {}  # fault.uplink kind -> its event id, raised and not cleared
        self._fault_detail: dict[str, str] = {}
        self._all_confirmed = asyncio.Event()  # no call or alarm awaits its PUBACK
        self._all_confirmed.set()
        self.on_delivered: Callable[[str], None] | None = None  # event id, on its successful PUBACK
        self._idle = asyncio.Event()  # nothing handed to paho awaits its PUBACK (hub.core.uplink.tls_switch)
        self.pace = DrainPace(self.window - URGENT_SLOTS)  # backlog rows in flight (hub.core.uplink.pacing)

    # --- tasks -----------------------------------------------------------------------------------
    async def run_sender(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while self._sending() and len(self._sent) < self.window:
                row = await self._next_row()
                if row is None:
                    break
                if not self._room(row.priority):
                    self._queue(row)  # its turn after a PUBACK
                    break
                self._publish(row)

    def _readable(self) -> None:
        super()._readable()
        self._top_up()

    def _top_up(self) -> None:
        """Hand rows already waiting here to paho in the callback that read the PUBACKs freeing their
        slots, and write them at once: a drain's refill costs no turn of the sender task nor a wait for
        the socket's writable event (the sender task still reads the outbox and sends everything else)."""
        in_flight = {r.id for r in self._sent.values()}
        sent = False
        while self._fresh and len(self._sent) < self.window:
            row = self._pop(in_flight)
            if row is None:
                break
            if not self._room(row.priority):
                self._queue(row)
                break
            self._publish(row)
            in_flight.add(row.id)
            sent = True
        if sent:
            self._writable()

    def urgent_waiting(self) -> bool:
        # The queue's counts (kept in memory, card and memory rows together) cover the rows waiting here
        # and a call committed before a restart (the hub restarted while the broker was away) alike.
        return self.outbox.depth().get("urgent", 0) > 0

    def _room(self, priority: int) -> bool:
        """A slot in the in-flight window for a row of this priority: a backlog leaves URGENT_SLOTS free and
        keeps no more in flight than its pace allows (a call would queue behind them at the broker)."""
        limit = self.window if priority == 0 else self.pace.allowed(self.window - URGENT_SLOTS)
        return self._sending() and len(self._sent) < limit

    def _flush_acked(self) -> None:
        self._remove_timer = None
        acked, self._acked = self._acked, []
        if acked:
            self._removing = asyncio.ensure_future(self.db(self.outbox.remove, acked))
            self._removing.add_done_callback(self._queue_moved)  # emptied: the console must see it

    def _connected(self) -> None:
        self._switch_settled(True)
        # Rows not already in paho's hands are fetched again, in order, from the start.
        self._restart_backlog()
        self.pace.reset()
        self._status_now.set()
        self._wake.set()

    # --- delivery -------------------------------------------------------------------------------
    def offer(self, row: Row) -> None:
        """A new row was committed: send it ahead of any older backlog of lower priority.

        An urgent row goes straight to the socket when the window allows — and a backlog never fills
        the last URGENT_SLOTS of it: a call must not wait for the sender task's next turn, nor for a
        PUBACK of the backlog to free a slot. The same row offered again is a no-op.
        """
        if self._offered_before(row):
            return
        window_free = self._room(row.priority)
        if window_free and (row.priority == 0 or (not self._fresh and not self._backlog)):
            self._publish(row)
            self._client.loop_write()
        else:
            if row.priority == 0 and row.type.split(".", 1)[0] not in ("fault", "system", "cert"):
                self.kick()  # a call or an alarm: stop waiting out a reconnect delay
            self._queue(row)
            self._wake.set()
            self._queue_moved()  # it waits: the queue may no longer be empty
        self._note_offered(row)

    def _publish(self, row: Row) -> None:
        info = self._client.publish(row.topic, row.payload, qos=1, retain=False)
        self._sent[info.mid] = row
        if row.priority > 0:
            self.pace.sent(info.mid, self._loop.time())
        if row.priority == 0:
            self.watch.sent(info.mid, self._loop.time())
            self._all_confirmed.clear()

    async def delivered(self, timeout: float | None) -> bool:
        """Wait until every call and alarm handed to the broker has its successful PUBACK."""
        try:
            await asyncio.wait_for(self._all_confirmed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _confirmed(self) -> None:
        if not self.watch.awaiting and not any(r.priority == 0 for r, _ in self._refused.values()):
            self._all_confirmed.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self.watch.done(mid)
        self.pace.acked(mid, self._loop.time())
        row = self._sent.pop(mid, None)
        if not self._sent:
            self._idle.set()
        if row is None:
            # A status message: its PUBACK answers for the link, so the tick's next idle probe moves
            # later; re-plan it now, while awake, rather than wake at the old deadline for nothing.
            self._kick.set()
            return
        code = int(getattr(reason, "value", 0))
        if code >= 0x80:
            self._refuse(row, reason, code)
            return
        self._refused.pop(row.id, None)
        self._confirmed()
        self._acked.append(row)
        if self.on_delivered is not None:
            self.on_delivered(row.id)
        if self._remove_timer is None:
            # Deleting delivered rows can wait: batch it off the path of the next call's commit.
            self._remove_timer = self._loop.call_later(REMOVE_DELAY_S, self._flush_acked)
        if self._faults and not self._refused:
            self._clear_faults()
        self._wake.set()

    # --- refusals -------------------------------------------------------------------------------
    def _refuse(self, row: Row, reason: Any, code: int) -> None:
        """The broker said no: keep the row, say why once, try it again later."""
        word = refusal_word(code)
        refusals = self._refused.get(row.id, (row, 0))[1] + 1
        self._refused[row.id] = (row, refusals)
        self._waiting.add(row.id)
        delay = self.backoff(refusals)
        first = word not in self._faults
        detail = f"the broker refused {row.type} (seq {row.seq}) on {row.topic}: {reason} (0x{code:02x})"
        (log.error if first else log.debug)("%s; the event is kept and retried (next in %.1f s)", detail,
                                            delay)
        if first:
            self._faults[word] = ""
            self._fault_detail[word] = detail
            self.last_error = detail
            data = {"kind": word, "reason_code": code, "reason": str(reason), "topic": row.topic,
                    "event_type": row.type, "remedy": remedy(word, row.topic, self.mqtt["username"], self.tls_pair)}
            self.spawn(f"uplink.fault.{word}", self._raise_fault(word, data))
        self._loop.call_later(delay, self._retry, row.id)
        self._wake.set()

    def _retry(self, event_id: str) -> None:
        self._waiting.discard(event_id)
        entry = self._refused.get(event_id)
        if entry is not None and not self._closed:
            row = entry[0]
            self._queue(row)
            self._wake.set()

    async def _raise_fault(self, word: str, data: dict[str, Any]) -> None:
        event = await self.report("fault.uplink", data)
        if word in self._faults:
            self._faults[word] = event.id

    def _clear_faults(self) -> None:
        for word, fault_id in list(self._faults.items()):
            log.info("the broker accepts this hub's publishes again (%s cleared)", word)
            self.spawn(f"uplink.clear.{word}", self.report("fault.cleared", {
                "component": "uplink", "part": self.broker_name, "kind": word, "fault_id": fault_id}))
        self._faults.clear()
        self._fault_detail.clear()
        self.last_error = ""

    def _duplicate_id(self, data: dict[str, Any] | None) -> None:
        """A duplicate client id was detected (data) or has gone (None): report it."""
        if data is not None:
            self.spawn("uplink.fault.duplicate_id", self._raise_duplicate(data))
            return
        self.spawn("uplink.clear.duplicate_id", self.report("fault.cleared", {
            "component": "uplink", "part": self.broker_name, "kind": "duplicate_id",
            "fault_id": self.takeovers.fault_id or ""}))
        self.takeovers.fault_id = None

    async def _raise_duplicate(self, data: dict[str, Any]) -> None:
        event = await self.report("fault.duplicate_id", data)
        if self.takeovers.fault_id is not None:
            self.takeovers.fault_id = event.id

    def faults(self) -> list[dict[str, Any]]:
        """Uplink faults still standing, for `hub status`."""
        out: list[dict[str, Any]] = [{"kind": w, "detail": d} for w, d in self._fault_detail.items()]
        if self.takeovers.fault_id is not None:
            out.append({"kind": "duplicate_id", "detail": self.takeovers.detail.get("detail", "")})
        return out

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    @property
    def refused(self) -> int:
        return len(self._refused)

    async def close(self) -> None:
        if self._closed:
            return
        await self._close_link()
        self._stop_status()
        if self._remove_timer is not None:
            self._remove_timer.cancel()
        self._flush_acked()
        if self._removing is not None:
            await self._removing
