"""paho-mqtt driven by the hub's asyncio loop: the client, its socket hooks, and closing a socket.

paho has no network thread here: the loop watches its socket (add_reader/add_writer) and calls
loop_read/loop_write; connect() runs on a thread of its own (`off_loop`), so hooks hop onto the loop
thread-safely. Every read also tells the link watch that the broker was heard (hub.core.uplink.liveness).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as paho

from hub.config.loader import Config
from hub.core.uplink import replies
from hub.core.uplink.liveness import LinkWatch
from hub.core.uplink.paho_client import Client

READ_BATCH = 64  # MQTT packets read per readable socket event
T = TypeVar("T")


def off_loop(loop: asyncio.AbstractEventLoop, name: str, fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking `fn` (DNS, TCP, a TLS handshake, the 3.1.1 probe) on a daemon thread of its own.

    Not asyncio.to_thread: the default executor is joined when the loop shuts down, so a connect
    blocked on a silent broker held the hub's stop for its whole timeout. Awaiting this future is
    cancellable, and nothing ever joins the thread: a stop does not wait for it.
    """
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return  # cancelled: the hub stopped waiting
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # handed to the awaiting task, which decides
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


class PahoOnLoop:
    config: Config
    mqtt: dict[str, Any]
    watch: LinkWatch
    _loop: asyncio.AbstractEventLoop
    _client: paho.Client
    _cutting: bool
    _closed: bool
    _attempt: asyncio.Future[None] | None
    _blocking: asyncio.Future[Any] | None  # connect() or the probe, on a thread of its own
    _opening: socket.socket | None  # the TCP socket connect() is setting up
    tls_pair: tuple[str, str] | None

    def _make_client(self) -> paho.Client:
        client = Client(paho.CallbackAPIVersion.VERSION2, client_id=self.config.hub_id,
                         protocol=paho.MQTTv5)
        client.max_inflight_messages_set(self.mqtt["max_inflight"])
        replies.configure(client, self.mqtt, self.tls_pair)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = lambda c, u, sock: self._in_loop(
            self._loop.add_writer, sock, self._writable)
        client.on_socket_unregister_write = lambda c, u, sock: self._in_loop(self._loop.remove_writer, sock)
        client.opening = self._opened
        return client

    # --- connecting off the loop, and abandoning it ---------------------------------------------
    async def _off_loop(self, name: str, fn: Callable[[], T]) -> T:
        """Blocking work close() can abandon: it cancels this wait and does not join the thread."""
        future = self._blocking = off_loop(self._loop, name, fn)
        try:
            return await future
        finally:
            self._blocking = None

    def _opened(self, sock: socket.socket) -> None:
        # On connect()'s thread: a stop that came first shuts the socket, so TLS and CONNECT fail fast.
        self._opening = sock
        if self._closed:
            self._abandon()

    def _abandon(self) -> None:
        """Stop an attempt in progress: end the waits and shut the socket a handshake may block on."""
        for waiting in (self._attempt, self._blocking):
            if waiting is not None and not waiting.done():
                waiting.cancel()
        opening = self._opening
        if opening is not None:
            with contextlib.suppress(OSError):
                opening.shutdown(socket.SHUT_RDWR)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        # A call is one small packet: send it now rather than let Nagle wait for an earlier ACK.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._in_loop(self._loop.add_reader, sock, self._readable)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        # By fd number, taken now: paho closes the socket right after this hook, and on the worker
        # thread (a reconnect after a CONNACK timeout) the loop would only see it closed (fd -1).
        with contextlib.suppress(OSError, ValueError):
            fd = sock.fileno()
            if fd >= 0:
                self._in_loop(self._loop.remove_reader, fd)

    def _writable(self) -> None:
        self._client.loop_write()
        if not self._client.want_write():
            # paho 2.2 stamps its keepalive clock (_last_msg_out) only when a write is left unfinished,
            # so it pinged every keepalive_s however much the hub sent, on a timer of its own. A packet
            # written whole is traffic too: its keepalive ping then follows keepalive_s of silence.
            self._client._last_msg_out = time.monotonic()

    def _readable(self) -> None:
        self.watch.heard(self._loop.time())
        # Every packet the socket holds (paho reads up to one per message in flight, then stops) and
        # every one already received into the client's buffer: a drain's PUBACKs then cost one turn of
        # the loop per batch, not one each.
        client = self._client
        client.loop_read(READ_BATCH)
        while isinstance(client, Client) and client.buffered() and client.socket() is not None:
            client.loop_read(READ_BATCH)

    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        # connect() runs on a worker thread (DNS, TCP, TLS block); socket hooks must reach the loop.
        if self._loop.is_closed():
            return  # paho tidying up after the hub has stopped
        try:
            current = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            current = False
        if current:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _cut(self) -> None:
        """Close a dead socket the way a reset would: paho reads EOF and reports the loss."""
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            self._cutting = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _drop_socket(self) -> None:
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            for remove in (self._loop.remove_reader, self._loop.remove_writer):
                with contextlib.suppress(ValueError, OSError):
                    remove(sock)

    def _unhook(self) -> None:
        # paho closes its socket again when the client is collected, after the loop is gone.
        for hook in ("on_socket_open", "on_socket_close", "on_socket_register_write",
                     "on_socket_unregister_write"):
            setattr(self._client, hook, None)

    # --- paho's callbacks, implemented by the link ---------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        raise NotImplementedError

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        raise NotImplementedError

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        raise NotImplementedError

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        raise NotImplementedError

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        raise NotImplementedError
