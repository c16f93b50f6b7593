"""The cellular path's pieces: the SMS wording, who counts as a duty number, and the technician's modem
check against the modem model on a real pty (the hub stopped, as `hub selftest` runs it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.fakes.modem import FakeModem
from hub.cellular.sms import alarm_text, is_ack, same_number, short_id, sms_worthy
from hub.config.loader import Config, ConfigError, validate
from hub.core.context import Hardware
from hub.core.events import Event
from hub.selftest.links import check_modem
from hub.selftest.model import Env

CST = timezone(timedelta(hours=8))


def _event(event_type: str, **data: Any) -> Event:
    return Event(event_type, data, ts=datetime(2026, 11, 30, 10, 2, 33, tzinfo=CST),
                 id="5f3a9c21-0b7d-4e8a-9d41-2f0e5c6b7a18")


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (_event("call.raised", kind="emergency", pin=17), "紧急呼叫"),
        (_event("call.raised", kind="family", pin=22), "亲情联络"),
        (_event("alarm.fire", source="relay"), "火警"),
        (_event("alarm.fall", source="wearable"), "跌倒"),
        (_event("alarm.inactivity", hours=9.5), "长时间无活动"),
        (_event("health.alert", measurement="blood_pressure"), "健康警报"),
    ],
)
def test_sms_says_what_where_when_and_how_to_ack(event: Event, words: str) -> None:
    text = alarm_text(event, "demo-0001", "R-0042")
    assert text == f"【一键呼】{words} R-0042 10:02 终端demo-0001 #5f3a9c21 回复1确认"
    assert len(text) <= 70  # one UCS2 SMS
    assert sms_worthy(event)


@pytest.mark.parametrize("event_type", ["measurement.blood_pressure", "telemetry.device", "fault.sensor",
                                        "call.acknowledged", "system.pong"])
def test_not_every_event_is_texted(event_type: str) -> None:
    assert not sms_worthy(_event(event_type))


def test_long_reference_still_fits_one_sms() -> None:
    text = alarm_text(_event("call.raised", kind="emergency"), "a-very-long-hub-identifier-0001", "R" * 40)
    # cut in the head, never in the event id or the way to acknowledge (hub.alarms.sms_form)
    assert len(text) <= 70 and text.endswith("…#5f3a9c21 回复1确认")


@pytest.mark.parametrize(("a", "b", "same"), [("+8613800138000", "13800138000", True),
                                              ("8613800138000", "+86 138 0013 8000", True),
                                              ("13800138000", "13800138001", False), ("", "", False)])
def test_same_number(a: str, b: str, same: bool) -> None:
    assert same_number(a, b) is same


@pytest.mark.parametrize(("body", "ack"), [("1", True), (" 1 收到", True), ("１", True), ("0", False),
                                           ("ok", False), ("", False)])
def test_ack_reply(body: str, ack: bool) -> None:
    assert is_ack(body) is ack


def test_short_id() -> None:
    assert short_id("5f3a9c21-0b7d-4e8a-9d41-2f0e5c6b7a18") == "5f3a9c21"


def test_duty_numbers_are_checked_at_the_edge() -> None:
    with pytest.raises(ConfigError, match="sms_numbers"):
        validate({"modem": {"port": "/dev/ttyUSB2", "sms_numbers": ["138-call-me"]}})


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem() as modem:
        yield modem


def _env(fake: FakeModem) -> Env:
    config = Config(Path("hub.toml"), validate({"modem": {"port": "/dev/ttyUSB2"}}))
    hardware = Hardware(pin_factory=None, open_i2c=lambda bus: None,
                        open_serial=lambda port, **kw: serial.Serial(fake.path, **kw))
    return Env(config, hardware)


def _rows(fake: FakeModem) -> dict[str, tuple[str, str]]:
    rows = asyncio.run(asyncio.wait_for(check_modem(_env(fake), owned=False), 20))
    return {r.check: (r.result, r.remedy) for r in rows}


def test_selftest_healthy_modem(fake: FakeModem) -> None:
    rows = _rows(fake)
    assert {k: v[0] for k, v in rows.items()} == {"answers AT": "pass", "SIM card": "pass", "network": "pass",
                                                  "signal": "pass", "voice calls (VoLTE)": "pass"}


@pytest.mark.parametrize(
    ("fault", "check", "remedy"),
    [("sim", "SIM card", "SIM"), ("network", "network", "antenna"), ("signal", "signal", "antenna")],
)
def test_selftest_names_the_fault_and_the_remedy(fake: FakeModem, fault: str, check: str, remedy: str) -> None:
    if fault == "sim":
        fake.state.sim = ""
    elif fault == "network":
        fake.state.registration = 2
    else:
        fake.state.rssi = 3  # -107 dBm
    result, advice = _rows(fake)[check]
    assert result == "fail" and remedy in advice


def test_selftest_modem_not_answering() -> None:
    def no_port(port: str, **kw: Any) -> Any:
        raise OSError(2, "No such file or directory", port)

    env = Env(Config(Path("hub.toml"), validate({"modem": {"port": "/dev/ttyUSB2"}})),
              Hardware(pin_factory=None, open_i2c=lambda bus: None, open_serial=no_port))
    (row,) = asyncio.run(check_modem(env, owned=False))
    assert row.result == "fail" and "USB" in row.remedy


@pytest.mark.parametrize(
    ("vendor", "cs_voice", "ims_conf", "mbn_volte", "result", "remedy"),
    [
        ("quectel", False, 2, True, "fail", 'AT+QCFG="ims",1'),  # Unicom/Telecom: LTE only, IMS switched off
        ("quectel", False, 0, False, "fail", 'AT+QCFG="ims",1'),  # the carrier profile leaves it off
        ("quectel", False, 1, True, "pass", ""),
        ("quectel", True, 2, True, "pass", ""),  # off, but 2G/3G voice is still there
        ("simcom", False, 0, True, "pass", ""),  # AT+CIREG? says VoLTE is up
        ("simcom", False, 2, True, "fail", "VoLTE"),  # IMS not registered: the carrier must enable it
    ],
)
def test_selftest_says_whether_the_modem_can_place_a_voice_call(fake: FakeModem, vendor: str, cs_voice: bool,
                                                                ims_conf: int, mbn_volte: bool, result: str,
                                                                remedy: str) -> None:
    voice = fake.state.voice
    voice.vendor, voice.cs_voice, voice.ims_conf, voice.mbn_volte = vendor, cs_voice, ims_conf, mbn_volte
    got, advice = _rows(fake)["voice calls (VoLTE)"]
    assert got == result and remedy in advice
    if result == "fail":
        assert "联通" in advice or "运营商" in advice  # Mandarin first, for the installer
