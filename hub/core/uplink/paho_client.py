"""paho's client as the uplink drives it: the socket an attempt is on, reads taken from a buffer, queued
packets joined into one send, plain PUBACKs decoded without new objects (hub.core.uplink.paho_loop drives
it from the hub's loop).

The last three are for a backlog drain, where paho's per-packet costs were most of the loop's time and
each send() woke the broker, which then preempted the hub (docs/architecture.md, issue 23).
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

READ_AHEAD = 65536  # bytes asked of the socket per recv()


class Client(paho.Client):
    """paho's client, telling the link which TCP socket an attempt is on (before TLS and CONNECT):
    closing the hub shuts it down, so a handshake blocked on a silent broker ends at once."""

    opening: Callable[[socket.socket], None] | None = None
    _read: bytes = b""  # bytes received and not yet taken by paho (see _sock_recv)
    _taken = 0

    def _create_socket_connection(self) -> socket.socket:
        self._read, self._taken = b"", 0
        sock = super()._create_socket_connection()
        if self.opening is not None:
            self.opening(sock)
        return sock

    def _sock_recv(self, bufsize: int) -> bytes:
        # paho reads a packet a few bytes at a time (its type, its length, the rest): three recv() calls
        # for each PUBACK of a drain. One recv() of up to READ_AHEAD bytes fills a buffer they are taken
        # from instead (the socket's readable event no longer says when this holds bytes: `buffered`).
        if self._taken >= len(self._read):
            self._read, self._taken = super()._sock_recv(READ_AHEAD), 0  # b"" at EOF, as paho expects
        start = self._taken
        self._taken = min(start + bufsize, len(self._read))
        return self._read[start:self._taken]

    def buffered(self) -> bool:
        """Bytes received that paho has not read yet: read on without waiting for the socket."""
        return self._taken < len(self._read)

    def _sock_close(self) -> None:
        self._read, self._taken = b"", 0
        super()._sock_close()

    def _packet_write(self) -> paho.MQTTErrorCode:
        # paho sends each queued packet with a send() of its own. On loopback or a LAN each send wakes
        # the broker, which (as a task that slept) preempts this one: a drain's refill of 20-30 rows
        # cost 20-30 context switches and ~40 % of the loop's time in send(). Packets queued together
        # go out in one send instead (coalesce); paho then finishes them as one.
        if len(self._out_packet) > 1:
            coalesce(self._out_packet)
        return super()._packet_write()

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> paho.MQTTErrorCode:
        # A success PUBACK without properties (the packet id, and 0x00 Success or 0x10 No matching
        # subscribers, or nothing) is what a drain reads for every row, and paho decoded each into a new
        # ReasonCode (copying its table of names) and a new Properties. Those are shared here; any other
        # PUBACK (a refusal, properties) is paho's to decode.
        packet = self._in_packet["packet"]
        reason = PUBACK_SUCCESS.get(packet[2] if len(packet) == 3 else 0) if len(packet) in (2, 3) else None
        if cmd != "PUBACK" or reason is None:
            return super()._handle_pubackcomp(cmd)
        mid = packet[0] << 8 | packet[1]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, reason, PUBACK_NO_PROPERTIES)
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS


# Shared by every plain PUBACK (nothing the hub calls changes them).
PUBACK_SUCCESS = {code: ReasonCode(PacketTypes.PUBACK, identifier=code) for code in (0x00, 0x10)}
PUBACK_NO_PROPERTIES = Properties(PacketTypes.PUBACK)


COALESCE_MAX = 65536  # bytes joined into one send at most


def _plain(packet: Any) -> bool:
    """A packet whose completed write paho acts on in no way (not a QoS 0 PUBLISH, whose info and
    on_publish follow the write, nor a DISCONNECT, which closes the socket)."""
    kind = packet["command"] & 0xF0
    return kind != paho.DISCONNECT and not (kind == paho.PUBLISH and packet["qos"] == 0)


def coalesce(out: deque[Any]) -> None:
    """Join each run of consecutive plain packets queued in paho's `out` into one packet (the run's
    unwritten bytes, in order), so that paho writes them with one send(). Runs are capped at
    COALESCE_MAX bytes. Packets appended meanwhile (connect() runs on another thread) stay behind."""
    taken = []
    while out:
        taken.append(out.popleft())
    merged: list[Any] = []
    run: list[bytes] = []
    size = 0

    def close_run() -> None:
        nonlocal size
        if len(run) == 1:
            merged.append(first)
        elif run:
            data = b"".join(run)
            merged.append({**first, "pos": 0, "to_process": len(data), "packet": data, "info": None})
        run.clear()
        size = 0

    first: Any = None
    for packet in taken:
        if not _plain(packet):
            close_run()
            merged.append(packet)
            continue
        rest = bytes(packet["packet"][packet["pos"]:])
        if run and size + len(rest) > COALESCE_MAX:
            close_run()
        if not run:
            first = packet
        run.append(rest)
        size += len(rest)
    close_run()
    out.extendleft(reversed(merged))
