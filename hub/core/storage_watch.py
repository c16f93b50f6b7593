"""Degraded storage mode, the coordinator's side: tell the truth, raise the fault, retry the card.

`hub.core.store.Store` keeps an event the card refused in memory and the uplink sends it like any
other row. This watcher turns that into what people see and hear:

- the resident: "存储故障，呼叫未能保存" when a call or alarm could not be saved (it is still sent, from
  memory), then "呼叫已发出" when the broker has confirmed it (PUBACK); "存储卡故障…" once per fault;
- the platform: `fault.storage` when the card starts failing (or the hub starts on a failed card),
  `fault.storage_cleared` when writes work again (docs/protocol.md);
- the technician: `storage` in `hub status` and the retained status, and the log.

It retries the card every `[outbox] storage_retry_s` on the DB thread; the first commit that works
again writes what memory holds, and the fault clears. The same task runs the outbox's upkeep when the
store says it is due (a WAL checkpoint every few hundred commits, giving a drained backlog's space
back): one bounded step at a time on the DB thread, yielding between steps, never on a call's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from hub.core.events import Event
from hub.core.outbox import Row
from hub.core.store import Store

log = logging.getLogger(__name__)

UPKEEP_PAUSE_S = 0.05  # between two upkeep steps: the DB thread serves the drain and events meanwhile

# Events whose sender is waiting to hear whether help is on its way.
ANNOUNCED = ("call.raised",)
ANNOUNCED_PREFIXES = ("alarm.",)
HEALTHY_CHECK_S = 60.0


def announced(event_type: str) -> bool:
    return event_type in ANNOUNCED or (event_type.startswith(ANNOUNCED_PREFIXES)
                                       and not event_type.endswith("_cleared"))


class StorageWatch:
    def __init__(self, store: Store, *, say: Callable[..., None],
                 raise_event: Callable[[str, dict[str, Any]], Awaitable[Event]],
                 set_status: Callable[[str, Any], None],
                 spawn: Callable[[str, Coroutine[Any, Any, Any]], Any],
                 db: Callable[..., Awaitable[Any]], retry_s: float,
                 on_fault: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self._on_fault = on_fault  # first sign of a failing card (move what can live in RAM off it)
        self._say, self._raise, self._set_status, self._spawn, self._db = say, raise_event, set_status, spawn, db
        self.retry_s = retry_s
        self._fault_id: str | None = None  # the open fault.storage event
        self._fault_reason = ""
        self._waiting: set[str] = set()  # unsaved calls/alarms whose sender awaits "呼叫已发出"
        self._moved = False
        self._kick = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        store.on_delivered = self._delivered_from_db_thread
        store.on_maintenance = self._upkeep_due

    def start(self) -> None:
        if self.store.fault is not None:
            fault = self.store.fault
            log.error("starting on a failing SD card (%s: %s): calls go out from memory but cannot be "
                      "saved. %s", fault.reason, fault.detail, fault.remedy)
        self.publish_status()
        self._spawn("storage.retry", self._run())
        self._kick.set()

    def unsaved(self, event: Event) -> None:
        """raise_event could not commit `event` (it is in memory and on its way): say so, raise the fault."""
        self._failing()
        if announced(event.type):
            self._waiting.add(event.id)
            self._say("storage_call_unsaved")
        self.publish_status()
        self._kick.set()

    # --- the retry loop -----------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            # a healthy card is looked at once a minute (a failed commit kicks at once), a failing one
            # every retry_s: no 10 s timer on a resting hub
            wait_s = self.retry_s if self.store.fault is not None else max(self.retry_s, HEALTHY_CHECK_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), wait_s)
            self._kick.clear()
            if self.store.fault is not None and self._fault_id is not None:
                await self._db(self.store.retry)
            await self._sync()
            self.publish_status()
            while self.store.maintenance_due():
                if not await self._db(self.store.maintain):
                    break
                await asyncio.sleep(UPKEEP_PAUSE_S)

    def _upkeep_due(self) -> None:
        """Any thread: the store has upkeep to do."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._kick.set)

    async def _sync(self) -> None:
        fault = self.store.fault
        if fault is not None and self._fault_id is None:
            self._failing()
            self._say("storage_fault")
            self._fault_id = ""  # raised (its own event may also be unsaved: no second raise meanwhile)
            self._fault_reason = fault.reason
            event = await self._raise("fault.storage", {
                "reason": fault.reason, "detail": fault.detail, "remedy": fault.remedy,
                "unsaved_events": self.store.unsaved()})
            self._fault_id = event.id
        elif fault is None and self._fault_id is not None:
            fault_id, reason = self._fault_id, self._fault_reason
            self._fault_id = None
            log.warning("storage fault %s cleared: the card takes writes again", reason)
            await self._raise("fault.storage_cleared", {"fault_id": fault_id, "reason": reason})

    def _failing(self) -> None:
        if not self._moved:
            self._moved = True
            self._on_fault()

    # --- delivery ----------------------------------------------------------------------------------
    def _delivered_from_db_thread(self, rows: list[Row]) -> None:
        ids = [r.id for r in rows]
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._delivered, ids)

    def _delivered(self, ids: list[str]) -> None:
        for event_id in ids:
            if event_id in self._waiting:
                self._waiting.discard(event_id)
                self._say("storage_call_sent")
        self.publish_status()

    def publish_status(self) -> None:
        fault = self.store.fault
        if fault is None:
            self._set_status("storage", {"state": "ok", "unsaved_events": self.store.unsaved()})
            return
        self._set_status("storage", {
            "state": "degraded", "reason": fault.reason, "detail": fault.detail, "remedy": fault.remedy,
            "since": datetime.fromtimestamp(fault.since, UTC).isoformat(timespec="seconds"),
            "unsaved_events": self.store.unsaved()})
