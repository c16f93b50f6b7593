"""Loopback ports for the servers the tests start, safe with tests running in parallel (pytest-xdist).

`free_port()` gives each worker its own block of ports below the kernel's ephemeral range; a server
started on one is waited for with `wait_listening`, which checks that the listener is that server's own
process (/proc/net/tcp inode -> /proc/PID/fd) and raises `PortTaken` when it is not, so the caller
retries on a new port instead of testing someone else's server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from drivers.sip.agent import free_sip_port as agent_sip_port


class PortTaken(RuntimeError):
    """The port a test server was to listen on is someone else's (another xdist worker's, another test
    run's): the caller picks a new port and starts again."""


def _port_block() -> tuple[int, int]:
    """This process's ports: 1000 of them per xdist worker (gw0, gw1, ...) in 10000-31999, below Linux's
    ephemeral range (32768-60999), so the kernel never hands one out to an outgoing connection and two
    workers never pick the same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = 10000 + (index % 22) * 1000
    return start, start + 1000


_next_port: list[int] = []


def free_port() -> int:
    """A loopback port nobody listens on now (TCP and UDP), from this worker's block (`_port_block`).
    Another process may still take it before our server binds: the servers the tests start (support.Broker,
    brokers.py, sipserver.py) pick a new one then, and `wait_listening` checks that the listener is ours."""
    low, high = _port_block()
    if not _next_port:  # a random start, so two sessions on one machine rarely walk the same ports
        _next_port.append(low + (os.getpid() * 7919) % (high - low))
    for _ in range(high - low):
        port = _next_port[0]
        _next_port[0] = low + (port + 1 - low) % (high - low)
        try:
            with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port in {low}-{high - 1}")


def free_sip_port() -> int:
    """A port P from this worker's block for baresip's `sip_listen`, with P+1 (its SIP/TLS transport) free
    too (drivers.sip.agent.free_sip_port). From the block, not the kernel's ephemeral range: a restarted
    agent binds P and P+1 again, and an ephemeral P+1 may by then be some outgoing connection's port."""
    low, high = _port_block()

    def candidate() -> int:
        port = free_port()
        return port if port + 1 < high else candidate()  # P+1 must not be the next worker's

    port = agent_sip_port(candidate)
    _next_port[0] = low + (port + 2 - low) % (high - low)  # P+1 is this agent's: not the next free_port()
    return port


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def listener_pids(port: int) -> set[int]:
    """The processes holding a listening TCP socket on `port` (those whose /proc/PID/fd we may read)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    pids: set[int] = set()
    if not wanted:
        return pids
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            return False
    return False


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float, what: str,
                   log_tail: Callable[[], str]) -> None:
    """Until `proc` (or a child of it) listens on 127.0.0.1:`port` and accepts connections. PortTaken if
    the listener there is another process's, or `proc` exits saying the address is in use; RuntimeError
    with the end of its log if it exits otherwise or is not listening after `timeout` s (it is then left
    running: the caller stops it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
        except OSError:
            if proc.poll() is not None:
                tail = log_tail()
                if "in use" in tail.lower() or "eaddrinuse" in tail.lower():
                    raise PortTaken(f"{what}: port {port} in use: {tail[-300:]}") from None
                raise RuntimeError(f"{what} exited: {tail}") from None
            time.sleep(0.03)
            continue
        owners = listener_pids(port)
        if not owners or any(_descends_from(pid, proc.pid) for pid in owners):
            return  # ours (or, unprivileged, nobody's we can see: accepted)
        raise PortTaken(f"{what}: port {port} is held by process(es) {sorted(owners)}, not ours")
    raise RuntimeError(f"{what} did not start within {timeout:g} s: {log_tail()}")
