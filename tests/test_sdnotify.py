"""sd_notify client: message format, abstract sockets, the watchdog interval; and the hub itself under
a fake NOTIFY_SOCKET sending READY=1 and then WATCHDOG=1 periodically."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.core.sdnotify import Notifier
from tests.hubproc import broker, running_hub, write_config


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_ready_status_watchdog_datagrams(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier({"NOTIFY_SOCKET": path}) as n:
        assert n.enabled
        assert n.ready("started")
        lines = sock.recv(4096).decode().split("\n")
        assert lines[:2] == ["READY=1", "STATUS=started"] and lines[2] == f"MAINPID={os.getpid()}"
        assert n.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
        assert n.status("busy") and sock.recv(4096) == b"STATUS=busy"
        assert n.stopping() and sock.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_socket() -> None:
    name = f"hub-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        with Notifier({"NOTIFY_SOCKET": "@" + name}) as n:
            assert n.watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    assert Notifier({"NOTIFY_SOCKET": "/nonexistent", **env}).watchdog_interval() == interval


def test_without_systemd_everything_is_a_no_op() -> None:
    n = Notifier({})
    assert not n.enabled and not n.ready() and not n.watchdog()


def test_unreachable_socket_never_raises(tmp_path: Path) -> None:
    with Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) as n:
        assert n.watchdog() is False
    assert Notifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled is False


def test_watchdog_loop_stops_when_the_loop_is_blocked(listener: tuple[socket.socket, str]) -> None:
    """The pings come from a task on the event loop: a blocked loop sends none."""
    sock, path = listener
    sock.setblocking(False)

    async def scenario() -> tuple[int, int]:
        n = Notifier({"NOTIFY_SOCKET": path})
        task = asyncio.create_task(n.watchdog_loop(0.05))
        before = 0
        for _ in range(400):  # until 3 pings came (a deadline of seconds: a loaded machine runs it late)
            before += _drain(sock)
            if before >= 3:
                break
            await asyncio.sleep(0.02)
        time.sleep(0.3)  # a hung loop: the task cannot run
        during = _drain(sock)
        task.cancel()
        n.close()
        return before, during

    before, during = asyncio.run(scenario())
    assert before >= 3 and during == 0


def _drain(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(100)
            count += 1
        except BlockingIOError:
            return count


SO_TIMESTAMPNS = 35  # Linux (asm-generic): stamp each datagram with the time it was sent (struct timespec)


def _recv_stamped(sock: socket.socket) -> tuple[float, str]:
    """One datagram and the kernel's time stamp of its sending (for AF_UNIX the kernel stamps it in the
    sender's sendmsg), so the gaps below are the hub's, not this test process's scheduling."""
    data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(16))
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", raw[:16])
            return sec + nsec / 1e9, data.decode()
    raise AssertionError("no SO_TIMESTAMPNS time stamp on the datagram")


def test_hub_sends_ready_then_periodic_watchdog(tmp_path: Path, listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    with broker(tmp_path) as port:
        cfg = write_config(tmp_path, port, "t-notify")
        with running_hub(cfg, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}):
            seen: list[tuple[float, str]] = []
            end = time.monotonic() + 30
            while time.monotonic() < end and sum(m == "WATCHDOG=1" for _, m in seen) < 8:
                try:
                    seen.append(_recv_stamped(sock))
                except TimeoutError:
                    break
    messages = [m for _, m in seen]
    ready = next(i for i, m in enumerate(messages) if m.startswith("READY=1"))
    pings = [t for t, m in seen[ready:] if m == "WATCHDOG=1"]
    assert len(pings) >= 6, messages
    # every WATCHDOG_USEC/2 = 0.5 s, as the hub sent them (kernel time stamps); systemd's limit is the 1 s.
    # The pings sleep on the shared grid (hub.core.ticks): the first after the one sent at start-up comes at
    # the next grid instant, sooner than a period (never later); from then on one per period.
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(g < 1.0 for g in gaps), gaps
    assert all(g > 0.2 for g in gaps[1:]), gaps
