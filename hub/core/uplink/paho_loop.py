"""paho-mqtt driven by the hub's asyncio loop: the client, its socket hooks, and closing a socket.

paho has no network thread here: the loop watches its socket (add_reader/add_writer) and calls
loop_read/loop_write; connect() runs on a worker thread, so hooks hop onto the loop thread-safely.
Every read also tells the link watch that the broker was heard (hub.core.uplink.liveness).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from hub.config.loader import Config
from hub.core.uplink import replies
from hub.core.uplink.liveness import LinkWatch

READ_BATCH = 64  # MQTT packets read per readable socket event

class PahoOnLoop:
    config: Config
    mqtt: dict[str, Any]
    watch: LinkWatch
    _loop: asyncio.AbstractEventLoop
    _client: paho.Client
    _cutting: bool
    tls_pair: tuple[str, str] | None

    def _make_client(self) -> paho.Client:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.config.hub_id,
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
        return client

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
        # Every packet the socket holds, up to READ_BATCH (paho reads one by default): a drain's
        # PUBACKs then cost one turn of the loop per batch, not one each.
        self._client.loop_read(READ_BATCH)

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
