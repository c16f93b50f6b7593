"""A hub whose broker refuses its login or never answers stops at once on SIGTERM: systemd's stop, and
a restart after a config fix from the set-up page, must not wait out the CONNACK timeout.

The bound is the product's own CONNECT_TIMEOUT_S (15 s): before the fix a stop took that long, because
close() waited while the connection attempt sat in its CONNACK wait. Stop figures: docs/uplink.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from support import Broker, HubProcess, free_port, wait_until, wait_until_async, write_config

from hub.config.loader import load
from hub.core.uplink.connection import CONNECT_TIMEOUT_S
from hub.core.uplink.session import Uplink

pytestmark = pytest.mark.timeout(90)
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")


class SilentBroker:
    """Accepts TCP and reads what the hub sends (CONNECT, or a TLS ClientHello), never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.heard = bytearray()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.heard += data

    def close(self) -> None:
        self.server.close()
        for conn in self.conns:
            conn.close()


def _stop_within_connect_timeout(hub: HubProcess) -> int:
    """SIGTERM; the exit code, which must come before CONNECT_TIMEOUT_S (else TimeoutExpired fails the test,
    and HubProcess.stop's SIGKILL fallback cleans up)."""
    assert hub.proc is not None
    os.killpg(hub.proc.pid, signal.SIGTERM)
    return hub.proc.wait(CONNECT_TIMEOUT_S)


def _assert_clean_stop(hub: HubProcess, code: int) -> None:
    assert code == 0, hub.log_tail()
    # The attempt was abandoned, not timed out: no 'did not answer ... (no CONNACK)' verdict on the way out.
    assert "did not answer the MQTT 5" not in hub.log_path.read_text(), hub.log_tail()


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls-handshake"])
def test_a_broker_that_never_answers_does_not_hold_the_stop(tmp_path, tls):
    if tls and not SYSTEM_CA.exists():
        pytest.skip("no system CA bundle for the TLS variant")
    silent = SilentBroker()
    extra = f'tls = {{ ca = "{SYSTEM_CA}" }}\n' if tls else ""
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", silent.port, mqtt_extra=extra)).start()
    try:
        # The hub is inside its attempt: its CONNECT (0x10) or ClientHello (0x16) reached the listener.
        wait_until(lambda: silent.heard[:1] == (b"\x16" if tls else b"\x10"), 10, "the hub's first bytes")
        _assert_clean_stop(hub, _stop_within_connect_timeout(hub))
    finally:
        hub.stop()
        silent.close()


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed")
def test_a_refused_login_does_not_hold_the_stop(tmp_path):
    root = tmp_path / "authbroker"
    root.mkdir()
    pw = root / "passwords"
    pw.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "hub-0001", "s3cret-Pw"], check=True, capture_output=True)
    port = free_port()
    broker = Broker(root, extra_conf=f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n",
                    port=port).start()
    cfg = write_config(tmp_path / "hub" / "hub.toml", port,
                       mqtt_extra='username = "hub-0001"\npassword = "wrong-Pw"\n')
    hub = HubProcess(cfg).start()
    try:
        wait_until(lambda: "refused" in hub.status()["last_error"], 15, "the refused login")
        _assert_clean_stop(hub, _stop_within_connect_timeout(hub))
    finally:
        hub.stop()
        broker.kill()


def test_close_itself_ends_the_attempt_and_a_second_close_is_harmless(tmp_path):
    """In process: close() alone ends the connection task inside its CONNACK wait (no task.cancel(), so a
    cancel lost in Python 3.11's wait_for cannot make it wait out CONNECT_TIMEOUT_S), and close() twice is fine."""
    silent = SilentBroker()
    config = load(write_config(tmp_path / "hub" / "hub.toml", silent.port))

    async def scenario() -> None:
        async def nothing(*args, **kwargs):
            return {}

        uplink = Uplink(config, outbox=None, db=nothing, on_command=lambda topic, payload: None, status=nothing,
                        report=nothing, spawn=lambda name, coro: coro.close(), commands=lambda: ["ack"])
        task = asyncio.create_task(uplink.run_connection())
        await wait_until_async(lambda: silent.heard[:1] == b"\x10", 10, "the hub's CONNECT")
        await uplink.close()
        await asyncio.wait_for(task, CONNECT_TIMEOUT_S)  # ended by close(), not cancelled
        assert not task.cancelled() and task.exception() is None
        await uplink.close()
        assert not uplink.connected.is_set()

    try:
        asyncio.run(scenario())
    finally:
        silent.close()
