"""The provisioning wizard, driven through a pseudo-terminal like an installer's SSH session, completes
against the simulation: answers with defaults, a refused demo password re-asked, the config written,
the test call acknowledged by a stand-in platform, and system.provisioned published with the results."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import load
from tests.hubproc import ROOT, broker, env

pytestmark = pytest.mark.slow


class Terminal:
    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the wizard on the pty (its controlling terminal, so getpass works)
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env())
        self.buffer = ""
        self.pos = 0

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        regex = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer, self.pos)
            if match:
                self.pos = match.end()
                return match.group(0)
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {pattern!r}; screen tail:\n{self.buffer[-1500:]}"
                )
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child exited and the pty closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"wizard exited waiting for {pattern!r}:\n{self.buffer[-1500:]}")
                self.buffer += chunk.decode("utf-8", "replace")

    def answer(self, prompt: str, text: str = "") -> None:
        self.expect(prompt)
        os.write(self.fd, text.encode() + b"\r")

    def wait(self, timeout: float = 60.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with_pid, status = os.waitpid(self.pid, os.WNOHANG)
            if with_pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):
                    self.buffer += os.read(self.fd, 65536).decode("utf-8", "replace")
        raise AssertionError("wizard did not exit")


class Platform:
    """Acknowledges every call.raised like an operator, and keeps what the hub published."""

    def __init__(self, port: int, hub_id: str) -> None:
        import paho.mqtt.client as mqtt

        self.events: list[dict[str, Any]] = []
        self.provisioned = threading.Event()
        self.base = f"eldercare/v1/{hub_id}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-operator")
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{self.base}/event/#", qos=1)
        self.client.loop_start()

    def _on(self, client: Any, userdata: Any, message: Any) -> None:
        body = json.loads(message.payload)
        self.events.append(body)
        if body["type"] == "call.raised":
            ack = {"event_id": body["id"], "by": "operator-7"}
            client.publish(f"{self.base}/cmd/ack", json.dumps(ack), qos=1)
        if body["type"] == "system.provisioned":
            self.provisioned.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_wizard_completes_against_the_simulation(tmp_path: Path) -> None:
    with broker(tmp_path) as port:
        platform = Platform(port, "t-wizard")
        out = tmp_path / "etc" / "hub.toml"
        term = Terminal(
            [
                sys.executable,
                "-m",
                "hub",
                "provision",
                "--simulate",
                "--config",
                str(out),
                "--state-dir",
                str(tmp_path / "state"),
            ]
        )
        try:
            term.answer(r"\[1/15\].*\n.*hub id.*: ", "t-wizard")
            term.answer(r"\[2/15\].*\n.*resident_ref.*: ", "R-2024-1")
            term.answer(r"community_ref.*: ", "SC-7")
            term.answer(r"host \[localhost\]: ", "127.0.0.1")
            term.answer(r"port \[8883\]: ", str(port))
            term.answer(r"use TLS \(y/n\) \[n\]: ")
            term.answer(r"username \[hub-t-wizard\]: ")
            term.answer(r"\[8/15\].*\n.*password: ", "change-me")
            term.expect("demo password is not allowed")
            term.answer(r"password: ", "Kx7-pR2m-Wq9t")
            term.answer(r"how many \[4\]: ")
            for _ in range(4):
                term.answer(r"GPIO \[\d+\]: ")
                term.answer(r"kind .*\[\w+\]: ")
            term.answer(r"fitted \(y/n\) \[y\]: ")
            term.answer(r"GPIO \[24\]: ")
            term.answer(r"kind \(analog.*\[analog\]: ")
            term.answer(r"address \[0x48\]: ")
            term.answer(r"part .*\[sht3x\]: ")
            term.answer(r"address \[0x44\]: ")
            term.answer(r"power-good GPIO \[-\]: ")
            term.answer(r"radar port \[-\]: ")
            term.answer(r"modem AT port \[-\]: ")
            term.expect(r"\[14/15\]")
            term.answer(r"write .*\(y/n\) \[y\]: ")
            term.expect(r"\[15/15\]")
            term.answer(r"pair a BLE meter now \(y/n\) \[n\]: ")
            term.expect(r"ack by operator-7", timeout=60)
            term.answer(r"did you hear the test prompt \(y/n\) \[y\]: ", "y")
            term.expect("all live checks passed", timeout=90)
            code = term.wait()
            assert code == 0, term.buffer[-1500:]
            assert "Kx7-pR2m-Wq9t" not in term.buffer  # the password was never echoed
            assert platform.provisioned.wait(20), "no system.provisioned"
        finally:
            platform.close()
    config = load(out)
    assert config.hub_id == "t-wizard" and config["mqtt"]["password"] == "Kx7-pR2m-Wq9t"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [b["pin"] for b in config["buttons"]] == [17, 27, 22, 23]
    provisioned = next(e for e in platform.events if e["type"] == "system.provisioned")
    data = provisioned["data"]
    assert data["source"] == "wizard" and data["fitted"]["temperature"] == {"part": "sht3x", "address": 0x44}
    rows = {(r["component"], r["check"]): r for r in data["live_check"]}
    assert rows[("call", "test call acknowledged")]["result"] == "pass"
    assert rows[("voice", "prompt heard")]["result"] == "pass"
    assert rows[("temperature", "answers, plausible")]["result"] == "pass"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(provisioned, json.loads((ROOT / "docs/schemas/system.provisioned.json").read_text()))
