"""Network and broker faults for tests, reusable: a TCP proxy that can silently black-hole a connection
(a half-open link), a tiny fake broker for behaviours mosquitto will not show (MQTT 3.1.1 only,
accept-then-drop), and a mosquitto with a password file and a per-user ACL that can be reloaded.

Each runs on its own loopback port; the proxy and the fake broker run an asyncio loop on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
from pathlib import Path

from support import Broker, free_port


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 10):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, server: asyncio.Server, writers: list[asyncio.StreamWriter]) -> None:
        async def shut() -> None:
            server.close()
            # the connection handlers first: one still connecting upstream would add a writer after these closed
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            for writer in writers:
                writer.close()
            for writer in writers:  # every transport closed before the loop is (no ResourceWarning later)
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()
            await server.wait_closed()
        with contextlib.suppress(TimeoutError, OSError, RuntimeError):
            self.run(shut(), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class BlackHoleProxy(_LoopThread):
    """127.0.0.1:port -> 127.0.0.1:target. `black_hole()` makes every open connection swallow bytes in
    both directions without closing (what a NAT that forgot the mapping, or a dead Wi-Fi, looks like);
    `black_hole_upstream()` only the client's bytes (the broker's last words still arrive after the link
    died under them); connections made afterwards pass normally."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target
        self.port = free_port()
        self.connections = 0
        self._links: list[dict[str, bool]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server = self.run(asyncio.start_server(self._accept, "127.0.0.1", self.port))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        link = {"dead": False, "up_dead": False}
        self._links.append(link)
        self._writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers.append(up_writer)
        await asyncio.gather(self._pump(reader, up_writer, link, "up_dead"),
                             self._pump(up_reader, writer, link, "dead"), return_exceptions=True)

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: dict[str, bool],
                    dead_when: str) -> None:
        try:
            while data := await src.read(65536):
                if not (link["dead"] or link[dead_when]):
                    dst.write(data)
                    await dst.drain()
        finally:
            if not (link["dead"] or link[dead_when]):
                dst.close()

    def black_hole(self) -> None:
        def cut() -> None:
            for link in self._links:
                link["dead"] = True
        self.loop.call_soon_threadsafe(cut)

    def black_hole_upstream(self) -> None:
        def cut() -> None:
            for link in self._links:
                link["up_dead"] = True
        self.loop.call_soon_threadsafe(cut)

    def close(self) -> None:
        self.stop(self._server, self._writers)


class FakeBroker(_LoopThread):
    """Just enough MQTT server to answer CONNECT the way some brokers do.

    mode "v311_connack": MQTT 5 CONNECT -> 3.1.1 CONNACK 0x01 "unacceptable protocol version" (aedes,
      mosquitto < 1.6; a real amqtt, which never answers a CONNECT with a Last Will, is in
      test_uplink_negotiation); "v311_close": MQTT 5 CONNECT -> closed without a word (RabbitMQ < 3.13);
      both accept a 3.1.1 CONNECT. "accept_drop": MQTT 5 CONNECT accepted, then closed at once (a broker
      enforcing a limit the client broke). `connects` records (time, protocol level) per CONNECT.
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.port = free_port()
        self.connects: list[tuple[float, int]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server = self.run(asyncio.start_server(self._serve, "127.0.0.1", self.port))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            header = await reader.readexactly(1)
            length, shift = 0, 0
            while True:
                byte = (await reader.readexactly(1))[0]
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            body = await reader.readexactly(length)
            if header[0] >> 4 != 1 or body[2:6] != b"MQTT":
                return
            level = body[6]
            self.connects.append((time.monotonic(), level))
            if level == 5 and self.mode == "v311_connack":
                writer.write(b"\x20\x02\x00\x01")
            elif level == 5 and self.mode == "accept_drop":
                writer.write(b"\x20\x03\x00\x00\x00")
            elif level == 4:
                writer.write(b"\x20\x02\x00\x00")
                await writer.drain()
                await reader.read(64)  # DISCONNECT, or the close
            await writer.drain()
        writer.close()

    def close(self) -> None:
        self.stop(self._server, self._writers)


class AclBroker(Broker):
    """mosquitto with a password file and an ACL file; `allow(...)` rewrites the ACL and reloads it
    (SIGHUP) without dropping anyone's connection."""

    def __init__(self, root: Path, users: dict[str, str], acl: str) -> None:
        port = free_port()
        self.passwd = root / "passwd"
        self.passwd.write_text("")
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(self.passwd), user, password], check=True,
                           capture_output=True)
        self.acl = root / "acl"
        self.acl.write_text(acl)
        super().__init__(root, port=port, extra_conf=(
            f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {self.passwd}\n"
            f"acl_file {self.acl}\n"))

    def reload(self, acl: str) -> None:
        self.acl.write_text(acl)
        assert self.proc is not None
        self.proc.send_signal(1)  # SIGHUP: mosquitto re-reads the password and ACL files
