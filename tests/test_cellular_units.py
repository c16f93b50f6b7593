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
from hub.alarms.sms_form import Reply, e164, masked, parse_reply
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
        (_event("call.raised", kind="family", pin=22), "亲情呼叫"),
        (_event("alarm.fire", source="relay"), "火警"),
        (_event("alarm.fall", source="wearable"), "跌倒"),
        (_event("alarm.inactivity", hours=9.5), "长时间无活动"),
        (_event("health.alert", measurement="blood_pressure"), "健康警报"),
    ],
)
def test_sms_says_what_where_when_and_how_to_ack(event: Event, words: str) -> None:
    text = alarm_text(event, "demo-0001", "R-0042")
    assert text == f"【一键呼】{words} R-0042 10:02 终端demo-0001 #5f3a9c21 回复1#5f3a确认"
    assert len(text) <= 70  # one UCS2 SMS
    assert sms_worthy(event)


@pytest.mark.parametrize("event_type", ["measurement.blood_pressure", "telemetry.device", "fault.sensor",
                                        "call.acknowledged", "system.pong"])
def test_not_every_event_is_texted(event_type: str) -> None:
    assert not sms_worthy(_event(event_type))


def test_long_reference_still_fits_one_sms() -> None:
    text = alarm_text(_event("call.raised", kind="emergency"), "a-very-long-hub-identifier-0001", "R" * 40)
    # cut in the head, never in the event id or the way to acknowledge (hub.alarms.sms_form)
    assert len(text) <= 70 and text.endswith("…#5f3a9c21 回复1#5f3a确认")


@pytest.mark.parametrize(("a", "b", "same"), [
    ("+8613800138000", "13800138000", True), ("8613800138000", "+86 138 0013 8000", True),
    ("008613800138000", "+8613800138000", True), ("+86-138-0013-8000", "１３８００１３８０００", True),
    ("01012345678", "+861012345678", True),  # a Beijing landline in its national form
    ("13800138000", "13800138001", False), ("", "", False),
    # ending in the same 11 digits is not the same phone (issue #21: these acknowledged as the duty desk)
    ("+1 380 013 8000", "+8613800138000", False), ("+4413800138000", "+8613800138000", False),
    ("+13800138000", "13800138000", False), ("BANK13800138000", "+8613800138000", False),
    ("BANK13800138000", "BANK13800138000", False),  # an alphanumeric sender never matches, not even itself
])
def test_same_number(a: str, b: str, same: bool) -> None:
    assert same_number(a, b) is same


def test_e164_forms() -> None:
    assert e164("+86 138 0013 8000") == e164("0086 13800138000") == e164("13800138000") == "+8613800138000"
    assert e164("10086") == "10086" and e164("BANK13800138000") is None and e164("") is None


@pytest.mark.parametrize(("body", "reply"), [
    ("1", Reply(None)), (" 1 \n", Reply(None)), ("１", Reply(None)), ("\u30001\u3000", Reply(None)),
    ("1#5f3a", Reply("5f3a")), ("1 # 5F3A", Reply("5f3a")), ("１＃５Ｆ３Ａ", Reply("5f3a")),
    ("1#5f3a9c21", Reply("5f3a9c21")),
    ("1个小时后才能到，请找别人", None), (" 1 收到", None), ("11", None), ("1#", None), ("1#5f", None), ("0", None),
    ("ok", None), ("", None)])
def test_only_1_or_1_code_is_an_acknowledgement(body: str, reply: Reply | None) -> None:
    assert parse_reply(body) == reply
    assert is_ack(body) is (reply is not None)


def test_masked_senders() -> None:
    assert masked("+8613800138000") == "+86*******8000"
    assert masked("BANK13800138000") == "BAN********8000" and masked("10086") == "*****"


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
    hardware = Hardware(gpio=None, open_i2c=lambda bus: None,
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
              Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=no_port))
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
