"""The voice-call chain reaching telephone targets by the 4G modem (hub.voicecall -> ctx.component("cellular")),
in process: the real voice-call and cellular components, the modem model on a real pty, no SIP account.
The family number is busy, the duty desk answers and presses 1: voice.ended (busy, via modem), then
voice.started and voice.ended (acknowledged) for the duty desk, the call acknowledged via "voice", and
what the resident heard, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from fakes import FakeHub
from schemas import assert_valid

from drivers.fakes.modem import FakeModem
from drivers.fakes.modem_calls import Callee
from hub.cellular.component import Cellular
from hub.config.loader import Config, ConfigError, validate
from hub.core.context import Hardware
from hub.core.events import Event
from hub.voicecall.component import VoiceCallComponent, build
from hub.voicecall.modem_path import modem_number

DUTY, FAMILY = "+8613800138000", "13900139000"
TARGETS = {"emergency": [{"who": "family", "uri": f"tel:{FAMILY}", "timeout_s": 10},
                         {"who": "duty", "uri": DUTY, "timeout_s": 10}]}


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem() as modem:
        yield modem


def _config(tmp_path: Path, **voice_call: Any) -> Config:
    return Config(tmp_path / "hub.toml", validate({
        "hub": {"state_dir": str(tmp_path / "state")}, "modem": {"port": "/dev/ttyUSB2", "call_listen_s": 10},
        "voice_call": {"targets": TARGETS, **voice_call}}))


def _platform(event: Event) -> dict[str, Any]:
    return {"v": 1, "id": event.id, "hub": "hub-1", "type": event.type, "seq": 1,
            "ts": event.ts.isoformat(timespec="milliseconds"), "data": event.data}


def _call_by_modem(config: Config, fake: FakeModem, until: Callable[[FakeHub], Awaitable[Any]]) -> FakeHub:
    """The real cellular and voice-call components on the modem model; an emergency call raised once the
    modem is up, then `until(hub)` awaited; the hub as it ended."""
    async def go() -> FakeHub:
        hub = FakeHub(config)
        hub.hardware = Hardware(gpio=None, open_i2c=lambda bus: None,
                                open_serial=lambda port, **kw: serial.Serial(fake.path, **kw), simulated=True)
        cellular, voice = Cellular(config), build(config, hub.hardware)
        assert isinstance(voice, VoiceCallComponent) and voice.agent is None  # no SIP account: no baresip
        hub.components["cellular"] = cellular
        await cellular.start(hub)  # type: ignore[arg-type]
        await voice.start(hub)  # type: ignore[arg-type]
        try:
            while (hub.status.get("cellular") or {}).get("modem") != "ok":
                await asyncio.sleep(0.05)
            await hub.alarms.open("call.raised", {"kind": "emergency", "pin": 17, "button": 17},
                                  key="call", facts={"kind": "emergency", "button": 17})
            await until(hub)
        finally:
            await voice.close()
            await cellular.close()
            hub.alarms.stop()
            await hub.cancel_tasks()
        return hub

    return asyncio.run(asyncio.wait_for(go(), 40))


def test_busy_family_then_the_duty_desk_presses_1(tmp_path: Path, fake: FakeModem) -> None:
    fake.state.voice.callees[FAMILY] = Callee(busy=True)
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=1.0, press="51", press_after_s=0.5)

    async def acknowledged(hub: FakeHub) -> None:
        await hub.wait_for("call.acknowledged")
        await hub.wait_for("voice.ended", 2)

    hub = _call_by_modem(_config(tmp_path), fake, acknowledged)
    assert hub.raised("call.acknowledged")[0].data["call_id"] == hub.raised("call.raised")[0].id
    order = [t for kind, t in hub.timeline if kind == "event"]
    assert order == ["call.raised", "voice.ended", "voice.started", "call.acknowledged", "voice.ended"]
    busy, acked = hub.raised("voice.ended")
    assert (busy.data["who"], busy.data["reason"], busy.data["via"], busy.data["peer"]) == \
        ("family", "busy", "modem", FAMILY)
    assert (acked.data["who"], acked.data["reason"], acked.data["answered"], acked.data["attempt"]) == \
        ("duty", "acknowledged", True, 2)
    assert hub.raised("voice.started")[0].data["via"] == "modem"
    ack = hub.raised("call.acknowledged")[0]
    assert ack.data["via"] == "voice" and ack.data["by"] == DUTY
    for event in hub.events[1:]:  # what this path adds (the call.raised above is the test's own stand-in)
        assert_valid(_platform(event))
    spoken = hub.spoken
    assert spoken.index("voice_dialing_family") < spoken.index("voice_dialing_duty") \
        < spoken.index("voice_phoned_duty") < spoken.index("call_acknowledged")
    assert "voice_call_ended" not in spoken  # the resident was not on the line
    assert [c["number"] for c in fake.state.voice.history] == [FAMILY, DUTY]


@pytest.mark.parametrize(
    ("uri", "sip_ready", "number"),
    [("tel:+8613800138000", True, "+8613800138000"),  # tel: always goes by the modem
     ("+8613800138000", True, None), ("+8613800138000", False, "+8613800138000"),
     ("sip:13800138000@sip.example.org", False, "13800138000"),  # SIP down: the number in it, by the modem
     ("sip:8001@sip.example.org", False, None),  # a PBX extension: no telephone number to ring
     ("sip:duty@sip.example.org", False, None)],
)
def test_which_targets_go_by_the_modem(uri: str, sip_ready: bool, number: str | None) -> None:
    assert modem_number(uri, sip_ready) == number


def test_telephone_targets_need_no_sip_account_but_a_modem(tmp_path: Path) -> None:
    assert build(_config(tmp_path), Hardware(gpio=None, open_i2c=lambda bus: None,
                                             open_serial=lambda *a, **k: None)) is not None
    with pytest.raises(ConfigError) as caught:
        validate({"voice_call": {"targets": TARGETS}})
    assert caught.value.key == "voice_call.account"
    validate({"voice_call": {"account": "sip:hub@pbx.example.org", "targets": TARGETS}})  # no modem: all by SIP


def test_a_responder_who_picks_up_and_never_presses_1_is_not_told_to_her_as_nobody_answering(
        tmp_path: Path, fake: FakeModem) -> None:
    # She heard "社区值班员已接听电话，正在确认，请稍候"; "电话暂时无人接听" after it would contradict it.
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.5)  # picks up, presses nothing
    config = _config(tmp_path, targets={"emergency": [{"who": "duty", "uri": f"tel:{DUTY}", "timeout_s": 10}]})

    async def told_her(hub: FakeHub) -> None:
        while not hub.raised("voice.ended") or ("voice_nobody_confirmed" not in hub.spoken
                                                  and "voice_nobody_answered" not in hub.spoken):
            await asyncio.sleep(0.05)

    hub = _call_by_modem(config, fake, told_her)
    assert hub.raised("voice.ended")[0].data["reason"] == "not_acknowledged"
    assert hub.spoken.index("voice_phoned_duty") < hub.spoken.index("voice_nobody_confirmed")
    assert "voice_nobody_answered" not in hub.spoken
    assert not hub.raised("call.acknowledged")
