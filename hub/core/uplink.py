"""MQTT uplink: paho-mqtt 2 driven by the hub's asyncio loop (no network thread of its own).

Outbox rows are handed to paho only while connected, in delivery order, at most `max_inflight` at a
time; a row is deleted from the outbox when its PUBACK arrives (`on_publish`). Messages paho already
holds when the link drops are resent by paho itself on reconnect (same packet, DUP set); everything
else is fetched again from the outbox, so a restart or a long outage loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.config.loader import Config
from hub.core.outbox import Row, RowSource

log = logging.getLogger(__name__)

CommandSink = Callable[[str, bytes], None]
StatusSource = Callable[[], Awaitable[dict[str, Any]]]
DbCall = Callable[..., Awaitable[Any]]
REMOVE_DELAY_S = 0.3
FETCH_BATCH = 256  # outbox rows fetched per query while draining a backlog


class Uplink:
    def __init__(self, config: Config, outbox: RowSource, db: DbCall, on_command: CommandSink,
                 status: StatusSource) -> None:
        self.config = config
        self.mqtt = config["mqtt"]
        self.outbox = outbox
        self.db = db  # runs an outbox method on the DB worker thread
        self.on_command = on_command
        self.status = status
        self.base = config.topic_base
        self.connected = asyncio.Event()
        self.last_error = ""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._status_now = asyncio.Event()
        self.link_changed = asyncio.Event()  # set on every connect and disconnect
        self._sent: dict[int, str] = {}  # mid -> event id, handed to paho and awaiting PUBACK
        self._fresh: list[tuple[int, int, Row]] = []  # heap of rows raised since the last fetch
        self._acked: list[str] = []
        self._remove_timer: asyncio.TimerHandle | None = None
        self._was_connected = False
        self._hold_until = 0.0  # loop time before which nothing is sent (see _on_connect)
        self._removing: asyncio.Future[Any] | None = None
        self._cursor: tuple[int, int] | None = None  # last (priority, seq) fetched from the outbox
        self._backlog = True  # the outbox may hold rows not yet fetched
        self._client = self._make_client()
        self._closed = False
        self.on_delivered: Callable[[str], None] | None = None  # event id, on its PUBACK

    # --- paho client ---------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.config.hub_id,
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(self.mqtt["max_inflight"])
        client.will_set(f"{self.base}/status", json.dumps({"state": "offline", "hub": self.config.hub_id}),
                        qos=1, retain=True)
        if self.mqtt["username"] is not None:
            client.username_pw_set(self.mqtt["username"], self.mqtt["password"])
        tls = self.mqtt.get("tls")
        if tls:
            client.tls_set(ca_certs=tls["ca"], certfile=tls["cert"], keyfile=tls["key"],
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
            client.tls_insecure_set(bool(tls["insecure"]))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = lambda c, u, sock: self._in_loop(self._loop.remove_reader, sock)
        client.on_socket_register_write = lambda c, u, sock: self._in_loop(
            self._loop.add_writer, sock, c.loop_write)
        client.on_socket_unregister_write = lambda c, u, sock: self._in_loop(self._loop.remove_writer, sock)
        return client

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # A call is one small packet: send it now rather than let Nagle wait for an earlier ACK.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._in_loop(self._loop.add_reader, sock, client.loop_read)

    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        # connect() runs on a worker thread (DNS, TCP, TLS block); socket hooks must reach the loop.
        if self._loop.is_closed():
            return  # paho tidying up after the hub has stopped
        if self._loop_is_current():
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _loop_is_current(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    # --- tasks -----------------------------------------------------------------------------------
    async def run_connection(self) -> None:
        """Connect, and reconnect after every loss with exponential backoff and full jitter."""
        failures = 0
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.mqtt["session_expiry_s"]
        while not self._closed:
            if not self.connected.is_set():
                try:
                    await asyncio.to_thread(self._client.connect, self.mqtt["host"], self.mqtt["port"],
                                            self.mqtt["keepalive_s"], clean_start=False, properties=props)
                    await asyncio.wait_for(self.connected.wait(), timeout=15)
                    failures = 0
                except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    failures += 1
                    delay = min(self.mqtt["reconnect_max_s"], self.mqtt["reconnect_min_s"] * 2 ** failures)
                    delay = random.uniform(self.mqtt["reconnect_min_s"], delay)
                    log.warning("broker %s:%s unreachable (%s); retry in %.1f s", self.mqtt["host"],
                                self.mqtt["port"], self.last_error, delay)
                    self._drop_socket()
                    await asyncio.sleep(delay)
                    continue
            self._client.loop_misc()  # keepalive pings, timeouts
            await asyncio.sleep(1.0)

    async def run_sender(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while self._sending() and len(self._sent) < self.mqtt["max_inflight"]:
                row = await self._next_row()
                if row is None:
                    break
                self._publish(row)

    def _flush_acked(self) -> None:
        self._remove_timer = None
        acked, self._acked = self._acked, []
        if acked:
            self._removing = asyncio.ensure_future(self.db(self.outbox.remove, acked))

    async def run_status(self) -> None:
        while not self._closed:
            await self.connected.wait()
            self._status_now.clear()
            body = {**(await self.status()), "state": "online"}
            self._client.publish(f"{self.base}/status", json.dumps(body, ensure_ascii=False), qos=1,
                                 retain=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._status_now.wait(), self.mqtt["status_interval_s"])

    def refresh_status(self) -> None:
        self._status_now.set()

    # --- delivery -------------------------------------------------------------------------------
    def _sending(self) -> bool:
        return self.connected.is_set() and self._loop.time() >= self._hold_until

    def offer(self, row: Row) -> None:
        """A new row was committed: send it ahead of any older backlog of lower priority.

        An urgent row goes straight to the socket when the window allows: a call must not wait for
        the sender task's next turn, nor behind a telemetry backlog.
        """
        window_free = self._sending() and len(self._sent) < self.mqtt["max_inflight"]
        if window_free and (row.priority == 0 or (not self._fresh and not self._backlog)):
            self._publish(row)
            self._client.loop_write()
            return
        heapq.heappush(self._fresh, (row.priority, row.seq, row))
        self._wake.set()

    async def _next_row(self) -> Row | None:
        # Top up from the outbox only when few rows are waiting here: one query per batch, not per
        # row, and memory bounded however deep the backlog.
        if self._backlog and len(self._fresh) < self.mqtt["max_inflight"]:
            # A snapshot: the DB thread must not iterate what the loop changes.
            batch = await self.db(self.outbox.pending, FETCH_BATCH, set(self._sent.values()), self._cursor)
            if not batch:
                self._backlog = False
            for row in batch:
                heapq.heappush(self._fresh, (row.priority, row.seq, row))
            if batch:
                self._cursor = (batch[-1].priority, batch[-1].seq)
        in_flight = set(self._sent.values())
        while self._fresh:
            _, _, row = heapq.heappop(self._fresh)
            if row.id not in in_flight:
                return row
        return None

    def _publish(self, row: Row) -> None:
        info = self._client.publish(row.topic, row.payload, qos=1, retain=False)
        self._sent[info.mid] = row.id

    # --- paho callbacks (all on the loop thread) ------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused: {reason}"
            log.error("broker refused the connection: %s (check [mqtt] credentials / TLS)", reason)
            return
        log.info("connected to %s:%s", self.mqtt["host"], self.mqtt["port"])
        self.last_error = ""
        if self._was_connected and not flags.session_present:
            # The broker came back without its sessions, so the platform's subscriptions are gone
            # too: a backlog sent at once would be PUBACKed and dropped before they re-subscribe.
            grace = self.mqtt["resubscribe_grace_s"]
            log.warning("the broker lost its sessions (restarted without persistence?); "
                        "holding the backlog %.1f s while subscribers reconnect", grace)
            self._hold_until = self._loop.time() + grace
            self._loop.call_later(grace, self._wake.set)
        self._was_connected = True
        client.subscribe(f"{self.base}/cmd/#", qos=1)
        # Rows not already in paho's hands are fetched again, in order, from the start.
        self._fresh.clear()
        self._cursor = None
        self._backlog = True
        self.connected.set()
        self.link_changed.set()
        self._status_now.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       props: Any) -> None:
        if self.connected.is_set():
            self.last_error = f"connection lost: {reason}"
            log.warning("lost the broker connection: %s", reason)
        else:
            self.last_error = (f"the broker closed the connection before accepting it ({reason}); "
                               "check [mqtt] tls certificates or username/password")
            log.warning(self.last_error)
        self.connected.clear()
        self.link_changed.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        event_id = self._sent.pop(mid, None)
        if event_id is None:
            return  # a status message
        self._acked.append(event_id)
        if self.on_delivered is not None:
            self.on_delivered(event_id)
        if self._remove_timer is None:
            # Deleting delivered rows can wait: batch it off the path of the next call's commit.
            self._remove_timer = self._loop.call_later(REMOVE_DELAY_S, self._flush_acked)
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        prefix = f"{self.base}/cmd/"
        if message.topic.startswith(prefix):
            self.on_command(message.topic[len(prefix):], bytes(message.payload))

    def _drop_socket(self) -> None:
        sock = self._client.socket()
        if isinstance(sock, socket.socket | ssl.SSLSocket):
            for remove in (self._loop.remove_reader, self._loop.remove_writer):
                with contextlib.suppress(ValueError, OSError):
                    remove(sock)

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self.connected.is_set():
            # A clean stop is not a fault: say offline ourselves, since the broker won't send the will.
            self._client.publish(f"{self.base}/status",
                                 json.dumps({"state": "offline", "hub": self.config.hub_id}), qos=1,
                                 retain=True)
            await asyncio.sleep(0.05)
            self._client.disconnect()
        self._drop_socket()
        # paho closes its socket again when the client is collected, after the loop is gone.
        for hook in ("on_socket_open", "on_socket_close", "on_socket_register_write",
                     "on_socket_unregister_write"):
            setattr(self._client, hook, None)
        if self._remove_timer is not None:
            self._remove_timer.cancel()
        self._flush_acked()
        if self._removing is not None:
            await self._removing
