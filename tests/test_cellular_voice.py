"""Voice calls by the modem, component against the EC25/SIM7600 model on a real pty (hub.cellular's
`dial()`): the far end answers and presses 1 (the alarm is acknowledged via "voice"), presses other
keys (ignored), is busy, never answers, hangs up, the network drops the call, the module restarts
mid-call; a 1 pressed on a call about another alarm acknowledges that alarm only; no modem, no
network. And `send_sms()`, the other public call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from fakes import FakeHub

from drivers.fakes.modem import FakeModem
from drivers.fakes.modem_calls import Callee
from hub.cellular.component import Cellular
from hub.config.loader import Config, validate
from hub.core.context import Hardware

DUTY, FAMILY = "+8613800138000", "+8613900139000"


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem(reset_s=0.3) as modem:
        yield modem


def run(tmp_path: Path, fake: FakeModem, scenario: Callable[[FakeHub, Cellular], Awaitable[Any]],
        vendor: str = "quectel") -> FakeHub:
    fake.state.voice.vendor = vendor
    config = Config(tmp_path / "hub.toml", validate({"hub": {"state_dir": str(tmp_path / "state")},
                                                     "modem": {"port": "/dev/ttyUSB2", "call_listen_s": 10,
                                                               "sms_numbers": [DUTY]}}))

    async def go() -> FakeHub:
        hub = FakeHub(config)
        hub.hardware = Hardware(gpio=None, open_i2c=lambda bus: None,
                                open_serial=lambda port, **kw: serial.Serial(fake.path, **kw), simulated=True)
        cellular = Cellular(config)
        await cellular.start(hub)  # type: ignore[arg-type]
        try:
            while (hub.status.get("cellular") or {}).get("modem") != "ok":
                await asyncio.sleep(0.05)
            await scenario(hub, cellular)
        finally:
            await cellular.close()
            hub.alarms.stop()
            await hub.cancel_tasks()
        return hub

    return asyncio.run(asyncio.wait_for(go(), 40))


async def _alarm(hub: FakeHub) -> str:
    event = await hub.alarms.open("call.raised", {"kind": "emergency", "pin": 17, "button": 17}, key="call",
                                  facts={"kind": "emergency", "button": 17})
    return event.id


@pytest.mark.parametrize("vendor", ["quectel", "simcom"])
def test_answered_and_1_pressed_acknowledges_the_alarm_via_voice(tmp_path: Path, fake: FakeModem,
                                                                 vendor: str) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.8, press="1", press_after_s=0.5)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        results["event"] = await _alarm(hub)
        results["dial"] = await cellular.dial(DUTY, event_id=results["event"], ring_s=10)

    hub = run(tmp_path, fake, scenario, vendor)
    result = results["dial"]
    assert result["answered"] and result["acknowledged"] and result["reason"] == "acknowledged"
    assert set(result) == {"number", "answered", "acknowledged", "seconds", "reason"} and result["number"] == DUTY
    assert 0 < result["seconds"] < 10
    (ack,) = hub.raised("call.acknowledged")
    assert ack.data["via"] == "voice" and ack.data["by"] == DUTY and ack.data["call_id"] == results["event"]
    assert hub.spoken.index("cellular_call_answered") < hub.spoken.index("call_acknowledged")
    assert hub.alarms.open_alarms() == []
    (call,) = fake.state.voice.history
    assert call.pop("at") > 0
    assert call == {"number": DUTY, "direction": "outgoing", "answered": True, "ended": "local", "keys": "1"}
    assert hub.status["cellular"]["dtmf"] is True and hub.status["cellular"]["vendor"] == vendor


def test_keys_other_than_1_are_ignored_and_the_hub_hangs_up_after_listening(tmp_path: Path, fake: FakeModem) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.5, press="29#*", press_after_s=0.3)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        event = await _alarm(hub)
        results["dial"] = await cellular.dial(DUTY, event_id=event, ring_s=10)

    hub = run(tmp_path, fake, scenario)
    assert results["dial"]["answered"] and not results["dial"]["acknowledged"]
    assert results["dial"]["reason"] == "hung_up" and results["dial"]["seconds"] >= 10  # call_listen_s
    assert hub.raised("call.acknowledged") == [] and len(hub.alarms.open_alarms()) == 1
    assert fake.state.voice.history[-1]["keys"] == "29#*" and fake.state.voice.history[-1]["ended"] == "local"


@pytest.mark.parametrize(
    ("callee", "reason", "answered"),
    [
        (Callee(busy=True), "busy", False),
        (Callee(answer_after_s=None), "no_answer", False),
        (Callee(answer_after_s=0.5, hang_up_after_s=3), "hung_up", True),
    ],
    ids=["busy", "no-answer", "far-end-hangs-up"],
)
def test_how_a_call_that_was_not_acknowledged_ended(tmp_path: Path, fake: FakeModem, callee: Callee, reason: str,
                                                    answered: bool) -> None:
    fake.state.voice.callees[DUTY] = callee
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        results["dial"] = await cellular.dial(DUTY, event_id=await _alarm(hub), ring_s=3)

    hub = run(tmp_path, fake, scenario)
    assert results["dial"]["reason"] == reason and results["dial"]["answered"] is answered
    assert not results["dial"]["acknowledged"] and hub.raised("call.acknowledged") == []
    assert fake.calls.current() is None  # never left ringing or up


def test_no_carrier_when_the_network_drops_the_call(tmp_path: Path, fake: FakeModem) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=None)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        task = asyncio.create_task(cellular.dial(DUTY, event_id=None, ring_s=20))
        while fake.calls.current() is None:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(fake.calls.hang_up_far)  # the network releases it before any answer
        results["dial"] = await task

    run(tmp_path, fake, scenario)
    assert results["dial"]["reason"] == "no_carrier" and not results["dial"]["answered"]


def test_modem_reset_mid_call_is_a_modem_fault_and_the_modem_is_set_up_again(tmp_path: Path,
                                                                            fake: FakeModem) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.3)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        seen: list[str] = []
        record = hub.set_status

        def set_status(key: str, value: Any) -> None:
            record(key, value)
            if key == "cellular":
                seen.append(value["modem"])

        hub.set_status = set_status  # type: ignore[method-assign]
        task = asyncio.create_task(cellular.dial(DUTY, event_id=await _alarm(hub), ring_s=10))
        while (fake.calls.current() or {}).get("state") != "active":
            await asyncio.sleep(0.05)
        fake.reset_now()
        results["dial"] = await task
        while "restarted" not in seen or seen[-1] != "ok":  # it noticed the restart and set the module up again
            await asyncio.sleep(0.05)
        results["again"] = await cellular.dial(DUTY, event_id=None, ring_s=5)

    hub = run(tmp_path, fake, scenario)
    assert results["dial"]["reason"] == "modem_fault" and not results["dial"]["acknowledged"]
    assert fake.state.voice.history[0]["ended"] == "modem_reset"
    assert len(hub.alarms.open_alarms()) == 1
    assert results["again"]["answered"]  # the module was set up again (DTMF on) and calls anew


def test_a_1_on_the_call_about_another_alarm_acknowledges_that_alarm_only(tmp_path: Path, fake: FakeModem) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.3, hang_up_after_s=3)  # first call: no key
    fake.state.voice.callees[FAMILY] = Callee(answer_after_s=0.3, press="1", press_after_s=0.3)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        fire = await hub.alarms.open("alarm.fire", {"source": "relay"}, key="fire")
        call = await _alarm(hub)
        results["fire"], results["call"] = fire.id, call
        results["first"] = await cellular.dial(DUTY, event_id=fire.id, ring_s=5)
        results["second"] = await cellular.dial(FAMILY, event_id=call, ring_s=5)

    hub = run(tmp_path, fake, scenario)
    assert results["first"]["reason"] == "hung_up" and results["second"]["reason"] == "acknowledged"
    assert [e.data["call_id"] for e in hub.raised("call.acknowledged")] == [results["call"]]
    assert hub.raised("alarm.acknowledged") == []
    assert [a.id for a in hub.alarms.open_alarms()] == [results["fire"]]


def test_a_key_after_the_call_ended_acknowledges_nothing(tmp_path: Path, fake: FakeModem) -> None:
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.3, hang_up_after_s=3)

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        event = await _alarm(hub)
        assert (await cellular.dial(DUTY, event_id=event, ring_s=5))["reason"] == "hung_up"
        fake._urc("+QTONEDET: 49")  # a late report from the module, no call under way
        await asyncio.sleep(0.5)

    hub = run(tmp_path, fake, scenario)
    assert hub.raised("call.acknowledged") == [] and len(hub.alarms.open_alarms()) == 1


@pytest.mark.parametrize(("fault", "reason"), [("network", "not_registered"), ("sim", "not_registered"),
                                               ("volte-only", "modem_fault")])
def test_no_network_no_call(tmp_path: Path, fake: FakeModem, fault: str, reason: str) -> None:
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        if fault == "network":
            fake.state.registration = 2
        elif fault == "sim":
            fake.state.sim = ""
        else:  # an LTE-only carrier (no 2G/3G voice) and the module's IMS switched off
            fake.state.voice.cs_voice, fake.state.voice.ims_conf = False, 2
        await cellular._poll(cellular._modem)  # type: ignore[arg-type]  # as the next poll would
        results["dial"] = await cellular.dial(DUTY, event_id=None, ring_s=5)
        results["status"] = dict(hub.status["cellular"])

    run(tmp_path, fake, scenario)
    assert results["dial"]["reason"] == reason and not results["dial"]["answered"]
    if fault == "volte-only":
        assert results["status"]["ims"] == "off" and results["status"]["volte"] is False
    assert fake.state.voice.history == []


def test_no_modem(tmp_path: Path) -> None:
    config = Config(tmp_path / "hub.toml", validate({"modem": {"port": "/dev/ttyUSB2"}}))
    result = asyncio.run(Cellular(config).dial(DUTY, event_id=None, ring_s=5))
    assert result == {"number": DUTY, "answered": False, "acknowledged": False, "seconds": 0.0, "reason": "no_modem"}


def test_send_sms_says_which_numbers_took_it(tmp_path: Path, fake: FakeModem) -> None:
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        results["ok"] = await cellular.send_sms([DUTY, FAMILY], "【一键呼】测试")
        fake.state.sms_error = 500
        results["refused"] = await cellular.send_sms([DUTY], "【一键呼】测试")

    run(tmp_path, fake, scenario)
    assert results["ok"] == [DUTY, FAMILY] and results["refused"] == []
    assert fake.state.sent == [(DUTY, "【一键呼】测试"), (FAMILY, "【一键呼】测试")]


def test_a_1_pressed_the_moment_they_pick_up_counts(tmp_path: Path, fake: FakeModem) -> None:
    """The key can come before AT+CLCC has shown the answer: it is the answer, and it still counts."""
    fake.state.voice.callees[DUTY] = Callee(answer_after_s=0.5, press="1", press_after_s=0.0)
    results: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        results["dial"] = await cellular.dial(DUTY, event_id=await _alarm(hub), ring_s=10)

    hub = run(tmp_path, fake, scenario)
    assert results["dial"]["reason"] == "acknowledged" and results["dial"]["answered"]
    assert [e.data["via"] for e in hub.raised("call.acknowledged")] == ["voice"]
