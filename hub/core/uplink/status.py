"""The retained status (`{prefix}/{hub}/status`): refreshed on the shared tick grid, at once when a
component asks (`refresh_status`), and when the queue empties or fills.

The console prints the status's queue depth ("队列 queue 1"). A call and its acknowledgement each ask for
a status while their own row is still queued, and nothing asked again once the row was delivered and
deleted: the console read "queue 1" until the next tick, up to 30 s. So when the queue's emptiness has
changed since the last status, another follows, at most one a second; it is not an event (not in the
outbox, no card write), only the retained message again. Checked where the uplink is awake anyway: when a
batch of delivered rows has been deleted, and when a row must wait for the wire (held, no slot), so a
resting hub wakes no more often than before: a reading or telemetry row that goes out and is deleted
at once leaves the queue as empty as the last status said, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import paho.mqtt.client as paho

from hub.core.events import strict_json
from hub.core.outbox import RowSource
from hub.core.ticks import next_instant

StatusSource = Callable[[], Awaitable[dict[str, Any]]]
EXTRA_EVERY_S = 1.0  # a status for the queue's emptiness comes at most this often after the last one


class StatusPublisher:
    """Mixin for hub.core.uplink.session.Uplink (it holds the attributes below)."""

    mqtt: dict[str, Any]
    base: str
    limits: Any
    connected: asyncio.Event
    outbox: RowSource
    status: StatusSource
    _closed: bool
    _loop: asyncio.AbstractEventLoop
    _client: paho.Client

    def _init_status(self) -> None:
        self._status_now = asyncio.Event()
        self._status_at = float("-inf")  # loop time of the last status published
        self._status_empty: bool | None = None  # its queue was empty (None: none published yet)
        self._status_due: asyncio.TimerHandle | None = None  # a coalesced queue status, waiting

    async def run_status(self) -> None:
        while not self._closed:
            await self.connected.wait()
            self._status_now.clear()
            body = {**(await self.status()), "state": "online"}
            self._client.publish(f"{self.base}/status", strict_json(body, "status"),
                                 qos=min(1, self.limits.max_qos), retain=self.limits.retain)
            self._status_at, self._status_empty = self._loop.time(), not body.get("queue_depth")
            # On the shared grid (hub.core.ticks): the refresh falls due with the hub's other periodic
            # timers, not on a phase of its own.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_instant(self.mqtt["status_interval_s"], self._loop.time())):
                    await self._status_now.wait()

    def refresh_status(self) -> None:
        self._status_now.set()

    def _queue_moved(self, *_: Any) -> None:
        """The queue may have emptied or filled: a status if the last one says otherwise, coalesced."""
        if self._status_due is not None or self._closed or not self.connected.is_set():
            return
        if self._status_empty is None or self._status_empty == (not any(self.outbox.depth().values())):
            return
        wait = self._status_at + EXTRA_EVERY_S - self._loop.time()
        if wait <= 0:
            self._status_now.set()
        else:
            self._status_due = self._loop.call_later(wait, self._status_recheck)

    def _status_recheck(self) -> None:
        self._status_due = None
        self._queue_moved()

    def _stop_status(self) -> None:
        if self._status_due is not None:
            self._status_due.cancel()
            self._status_due = None
