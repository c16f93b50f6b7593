"""The provisioning wizard, driven through a pseudo-terminal like an installer's SSH session, completes
against the simulation: answers with defaults, a refused demo password re-asked, the config written,
the test call acknowledged by a stand-in platform, and system.provisioned published with the results."""

from __future__ import annotations

import json
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hub.cli.event_lines import describe
from hub.config.loader import load
from tests.hubproc import ROOT, broker
from tests.terminal import Terminal

pytestmark = pytest.mark.slow


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
            term.answer(r"\[1/16\].*\n.*hub id.*: ", "t-wizard")
            term.answer(r"\[2/16\].*\n.*resident_ref.*: ", "R-2024-1")
            term.answer(r"community_ref.*: ", "SC-7")
            term.answer(r"host \[localhost\]: ", "127.0.0.1")
            term.answer(r"port \[8883\]: ", str(port))
            term.answer(r"use TLS \(y/n\) \[n\]: ")
            term.answer(r"username \[hub-t-wizard\]: ")
            term.answer(r"\[8/16\].*\n.*password: ", "change-me")
            term.expect("demo password is not allowed")
            term.answer(r"password: ", "Kx7-pR2m-Wq9t")
            term.answer(r"how many \[4\]: ")
            for _ in range(4):
                term.answer(r"GPIO \[\d+\]: ")
                term.answer(r"kind .*\[\w+\]: ")
            term.answer(r"fitted \(y/n\) \[y\]: ")
            term.answer(r"GPIO \[24\]: ")
            term.answer(r"kind \(analog.*\[analog\]: ")
            term.answer(r"address \(hex\) \[0x48\]: ")
            term.answer(r"part .*\[sht3x\]: ")
            term.answer(r"address \(hex\) \[0x44\]: ", "44")
            term.answer(r"power-good GPIO \[-\]: ")
            term.answer(r"radar port \[-\]: ")
            term.answer(r"modem AT port \[-\]: ")
            term.answer(r"Mandarin voice .*\[auto\]: ")
            term.expect(r"\[15/16\]")
            term.answer(r"write .*\(y/n\) \[y\]: ")
            term.expect(r"\[16/16\]")
            term.answer(r"pair a BLE meter now \(y/n\) \[n\]: ")
            term.expect(r"ack by operator-7", timeout=60)
            term.answer(r"did you hear the test prompt \(y/n\) \[y\]: ", "y")
            term.expect("测试呼叫已送达，平台已确认 / test call delivered and acknowledged",
                        timeout=90)
            term.expect("every live check passed", timeout=30)
            code = term.wait()
            assert code == 0, term.buffer[-1500:]
            assert "Kx7-pR2m-Wq9t" not in term.buffer  # the password was never echoed
            assert '{"live_check"' not in term.buffer  # sentences for the installer, not JSON
            assert platform.provisioned.wait(20), "no system.provisioned"
        finally:
            platform.close()
    config = load(out)
    assert config.hub_id == "t-wizard" and config["mqtt"]["password"] == "Kx7-pR2m-Wq9t"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [b["pin"] for b in config["buttons"]] == [17, 27, 22, 23]
    raised = [e for e in platform.events if e["type"] == "call.raised"]
    assert len(raised) == 1 and raised[0]["data"]["test"] is True  # marked a test end to end
    assert describe("eldercare/v1/t-wizard/event/call", raised[0]).split(" call.raised ")[1].startswith(
        "测试呼叫 TEST CALL (not an emergency) · 紧急呼叫")
    provisioned = next(e for e in platform.events if e["type"] == "system.provisioned")
    data = provisioned["data"]
    assert data["source"] == "wizard" and data["fitted"]["temperature"] == {"part": "sht3x", "address": 0x44}
    rows = {(r["component"], r["check"]): r for r in data["live_check"]}
    assert rows[("call", "test call acknowledged")]["result"] == "pass"
    assert rows[("voice", "prompt heard")]["result"] == "pass"
    assert rows[("temperature", "answers, plausible")]["result"] == "pass"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(provisioned, json.loads((ROOT / "docs/schemas/system.provisioned.json").read_text()))
    jsonschema.validate(raised[0], json.loads((ROOT / "docs/schemas/call.raised.json").read_text()))


def test_only_the_armed_call_is_a_test(hub_env: Any) -> None:
    """The live check arms one test call; a press before it or after it is a real call, unmarked."""
    hub, sub = hub_env.hub, hub_env.sub
    real = hub.sim("press", "--button", "27")["event_id"]
    hub.control({"cmd": "selftest.call_arm"})
    test = hub.sim("press", "--button", "22")["event_id"]
    after = hub.sim("press", "--button", "23")["event_id"]
    got = {}
    for call_id in (real, test, after):
        event = sub.wait_for(lambda m, i=call_id: isinstance(m[2], dict) and m[2].get("id") == i, 15)
        assert event, hub.log_tail()
        got[call_id] = event[2]["data"]
    assert "test" not in got[real] and got[test]["test"] is True and "test" not in got[after]
    assert "测试呼叫 TEST" in describe("eldercare/v1/test-0001/event/call", {"type": "call.raised", "data": got[test]})
    assert "测试" not in describe("eldercare/v1/test-0001/event/call", {"type": "call.raised", "data": got[real]})


def test_the_test_call_s_sms_says_it_is_a_test() -> None:
    """Should the platform not answer in time, the duty desk's SMS says 测试 (test) before the call's kind."""
    from datetime import datetime

    from hub.alarms.sms_form import short_form

    when = datetime(2024, 5, 6, 10, 2)
    test = short_form("call.raised", {"kind": "emergency", "button": 17, "test": True}, "5f3a9c21-x", when,
                      "sq-0042", "R-1")
    real = short_form("call.raised", {"kind": "emergency", "button": 17}, "5f3a9c21-x", when, "sq-0042", "R-1")
    assert test.startswith("【一键呼】测试紧急呼叫 R-1") and real.startswith("【一键呼】紧急呼叫 R-1")
    assert len(test) <= 70
