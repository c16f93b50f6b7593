"""Wireless triggers end to end: the hub in-process on a virtual clock (tests/scenario.py) with a real
mosquitto, simulated BTHome pendants on the virtual BLE radio sending encrypted advertisement bytes that
the hub hears through bleak's BleakScanner callback and decodes with bthome-ble.

A press raises the call of a wired button, naming device and room; a stranger's pendant, a wrong key, a
downgraded (plain) frame and a replayed frame raise nothing, also after a restart; supervision (not heard,
battery) and the weekly test are spoken and reported.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from scenario import Scenario, assert_one_voice, save, without_chimes
from support import Broker

from drivers.ble.virtual.bthome_device import BTHOME_UUID, BthomeButton
from hub.core.simulation import simulated_hardware
from hub.selftest.run import Env, run_automatic

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
KEY = "231d39c1d7cc1ab1aee224cd096db932"
KEY2 = "00112233445566778899aabbccddeeff"
PENDANT = {"id": "pendant", "address": "A4:C1:38:00:00:01", "key": KEY, "room": "卧室", "kind": "pendant",
           "press": "emergency", "double": "health", "long": "cancel"}
CORD = {"id": "cord", "address": "A4:C1:38:00:00:02", "key": KEY2, "room": "卫生间", "kind": "pull_cord",
        "press": "emergency", "double": "emergency", "long": "emergency"}


class TrigScenario(Scenario):
    async def _main(self, body: Any) -> None:
        async def started(s: Scenario) -> None:
            while s.hub.component("triggers") is None:  # components start one by one after the uplink
                await asyncio.sleep(0.01)
            await s.hub.component("triggers").ready.wait()
            await body(s)

        await super()._main(started)


def trig_scenario(tmp: Path, broker: Broker, **sup: Any) -> Scenario:
    return TrigScenario(tmp, broker, triggers=[PENDANT, CORD], supervision=sup)


def events(s: Scenario, kind: str) -> list[dict[str, Any]]:
    return [e.data for _, e in s.events if e.type == kind]


def test_pendant_press_raises_a_call_naming_device_and_room(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        out = await s.sim("pendant", "press", "--id", "pendant")
        assert out["outcome"] == "raised"
        raised = await s.event("call.raised")
        assert raised.data["trigger"] == "pendant" and raised.data["room"] == "卧室"
        assert raised.data["kind"] == "emergency" and "button" not in raised.data
        assert raised.data["context"]["trigger"]["detail"] == "emergency wireless pendant (卧室)"
        await s.heard("call_raising")
        again = await s.sim("pendant", "press", "--id", "pendant")  # pressed again while open: one call
        assert again["outcome"] == "repeat" and again["call_id"] == out["call_id"]
        await s.ack(out["call_id"])
        acked = await s.event("call.acknowledged")
        assert acked.data["trigger"] == "pendant" and acked.data["room"] == "卧室"
        await s.heard("call_acknowledged_by")
        scan = await s.sim("ble-adverts", "1")  # `hub ble scan --triggers` on the simulated unit
        assert {(d["address"], d["needs_key"]) for d in scan["devices"]} == {
            ("A4:C1:38:00:00:01", True), ("A4:C1:38:00:00:02", True)}

    s.run(body)
    assert [k for k in s.sent() if k[1].startswith("call.")] == [
        (pytest.approx(s.sent()[0][0]), "call.raised"), (pytest.approx(s.sent()[1][0]), "call.acknowledged")]
    assert_one_voice(s.spoken())
    # the platform got it through the broker, valid against the schema (tests/schemas.py via Subscriber)
    got = s.sub.wait_event("call.raised", timeout=5)
    assert got["data"]["trigger"] == "pendant"


def test_long_press_cancels_in_the_window_and_double_press_maps_to_its_kind(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        out = await s.sim("pendant", "double", "--id", "pendant")
        assert out["outcome"] == "raised"
        assert (await s.event("call.raised")).data["kind"] == "health"
        await s.quiet(3)
        cancelled = await s.sim("pendant", "long", "--id", "pendant")
        assert cancelled["outcome"] == "cancelled"
        data = (await s.event("call.cancelled")).data
        assert data["trigger"] == "pendant" and data["call_id"] == out["call_id"]
        await s.heard("call_cancelled")

    s.run(body)
    assert without_chimes(s.transcript()) == [("event", "call.raised"), ("say", "call_raising"),
                                              ("event", "call.cancelled"), ("say", "call_cancelled")]


def test_two_triggers_at_once_while_speaking_lose_nothing(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        wired = await s.press(17)  # a wired call: the unit is speaking "正在呼叫社区" when the pendants come
        await s.speaking("call_raising")
        pend, cord = s.sim("pendant", "press", "--id", "pendant"), s.sim("pendant", "press", "--id", "cord")
        outs = await asyncio.gather(pend, cord)
        assert {o["outcome"] for o in outs} == {"raised"}
        assert len({o["call_id"] for o in outs} | {wired["event_id"]}) == 3
        await s.quiet(5)

    s.run(body)
    raised = events(s, "call.raised")
    assert sorted(str(d.get("trigger", d.get("button"))) for d in raised) == ["17", "cord", "pendant"]
    assert_one_voice(s.spoken())


def test_strangers_wrong_keys_downgrades_and_replays_raise_nothing(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        sim = s.hub.component("sim.pendants")
        owner = s.hub.component("triggers")
        radio = sim.radio
        stranger = radio.add(BthomeButton("A4:C1:38:99:99:99", bytes.fromhex(KEY)))  # neighbour's, our key even
        spoof = BthomeButton("A4:C1:38:00:00:01", bytes.fromhex(KEY2))  # our pendant's address, wrong key
        plain = BthomeButton("A4:C1:38:00:00:01", None)  # our address, no encryption: a downgrade
        oversize_sent = radio.add(BthomeButton("A4:C1:38:00:00:02", bytes.fromhex(KEY2)))
        stranger.send("press")
        radio.peripherals["A4:C1:38:00:00:01"] = radio.add(spoof)
        spoof.send("press")
        radio.peripherals["A4:C1:38:00:00:01"] = radio.add(plain)
        plain.send("press")
        oversize_sent.advertising = True
        oversize_sent.advertise_once({BTHOME_UUID: b"\x45" + bytes(200)})
        oversize_sent.advertise_once({BTHOME_UUID: b"\x45\x01"})  # garbage: too short to hold counter and MIC
        oversize_sent.advertising = False
        radio.peripherals["A4:C1:38:00:00:01"] = radio.add(sim.buttons["pendant"])
        sim.buttons["pendant"].counter = 1000  # a pendant in use for a while
        genuine = await s.sim("pendant", "press", "--id", "pendant")  # the positive marker: the real one works
        assert genuine["outcome"] == "raised"
        await s.ack(genuine["call_id"])
        await s.event("call.acknowledged")
        await s.sim("pendant", "replay", "--id", "pendant")  # the same frame again: a repeat, ignored
        sim.buttons["pendant"].counter -= 5  # an older counter under the right key: a replay of a recording
        sim.buttons["pendant"].send("press")
        fault = await s.event("fault.trigger", reason="counter_back")
        assert fault.data["trigger"] == "pendant"
        # the short frame cannot hold counter and MIC: bthome-ble's decryption refuses it
        assert owner.refused == {"wrong_key": 2, "unencrypted": 1, "oversize": 1, "replay": 1}
        assert "A4:C1:38:99:99:99" in owner.strangers

    s.run(body)
    assert len(events(s, "call.raised")) == 1


def test_replay_after_restart_is_refused(tmp_path: Path, broker: Broker) -> None:
    recorded: dict[str, bytes] = {}
    s = trig_scenario(tmp_path, broker)

    async def first(s: Scenario) -> None:
        out = await s.sim("pendant", "press", "--id", "pendant")
        recorded["frame"] = bytes.fromhex(out["frame"])
        await s.event("call.raised")
        await s.ack(out["call_id"])
        await s.event("call.acknowledged")

    s.run(first)
    s2 = trig_scenario(tmp_path, broker)

    async def second(s: Scenario) -> None:
        sim = s.hub.component("sim.pendants")
        button = sim.buttons["pendant"]
        button.advertising = True
        button.advertise_once({BTHOME_UUID: recorded["frame"]})  # the attacker's recording, after the restart
        button.advertising = False
        button.counter = 1  # the simulated device restarted its own count too: send past the recorded one
        button.counter += 5
        out = await s.sim("pendant", "press", "--id", "pendant")  # a fresh frame: the marker that frames are read
        assert out["outcome"] == "raised"

    s2.run(second)
    assert len(events(s2, "call.raised")) == 1
    assert s2.hub.component("triggers").refused == {}  # the recording repeats the stored counter: dropped quietly


def test_not_heard_is_a_fault_spoken_in_daytime_and_cleared_when_heard(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker, supervision_h=0.25)

    async def body(s: Scenario) -> None:
        await s.sim("pendant", "silent", "--id", "cord")
        fault = await s.event("fault.trigger", timeout=3000, trigger="cord")
        assert fault.data["reason"] == "not_heard" and fault.data["room"] == "卫生间"
        await s.heard("trigger_not_heard")
        await s.sim("pendant", "battery", "60", "--id", "cord")
        cleared = await s.event("fault.trigger_cleared", trigger="cord")
        assert cleared.data["fault_id"] == fault.id and cleared.data["reason"] == "not_heard"

    s.run(body)
    said = [u for u in s.spoken() if u["key"] == "trigger_not_heard"]
    assert len(said) == 1 and "卫生间" in said[0]["text"]
    assert not [d for d in events(s, "fault.trigger") if d["trigger"] == "pendant"]  # heartbeats kept it alive


def test_low_battery_reported_and_spoken(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        await s.sim("pendant", "battery", "12", "--id", "pendant")
        fault = await s.event("fault.trigger", reason="battery_low")
        assert fault.data["battery_pct"] == 12 and fault.data["trigger"] == "pendant"
        await s.heard("trigger_battery_low")
        await s.sim("pendant", "battery", "100", "--id", "pendant")
        await s.event("fault.trigger_cleared", reason="battery_low")

    s.run(body)
    assert len(events(s, "fault.trigger")) == 1


def test_heard_from_another_integration_is_supervised(tmp_path: Path, broker: Broker) -> None:
    s = TrigScenario(tmp_path, broker, supervision={"supervision_h": 0.25})

    async def body(s: Scenario) -> None:
        trig = s.hub.component("triggers")
        trig.heard("zb-sos-1", room="客厅", kind="sos", battery_low=False, battery_pct=90, signal=120)
        fault = await s.event("fault.trigger", timeout=3000)
        assert fault.data["trigger"] == "zb-sos-1" and fault.data["reason"] == "not_heard"
        trig.heard("zb-sos-1", room="客厅", kind="sos", battery_low=True)
        await s.event("fault.trigger_cleared", trigger="zb-sos-1")
        await s.event("fault.trigger", reason="battery_low")

    s.run(body)


def test_weekly_test_flow_transcript(tmp_path: Path, broker: Broker) -> None:
    """Tuesday 09:00 in Shanghai (tests/scenario.py START); the weekly test is at 09:05: the unit asks for
    the bedroom pendant, the resident presses it once: a test, not a call; her next press is a call."""
    s = trig_scenario(tmp_path, broker, test_day="tue", test_time="09:05")

    async def body(s: Scenario) -> None:
        await s.speaking("trigger_test_ask", timeout=600)
        await s.heard("trigger_test_ask")
        s.note("the resident presses her pendant once")
        out = await s.sim("pendant", "press", "--id", "pendant")
        assert out["outcome"] == "tested"
        tested = await s.event("trigger.tested")
        assert tested.data == {"trigger": "pendant", "room": "卧室", "kind": "pendant", "battery_pct": 100,
                               "signal": -70}
        await s.heard("trigger_test_ok")
        s.note("she presses it again: now it is a call")
        again = await s.sim("pendant", "press", "--id", "pendant")
        assert again["outcome"] == "raised"
        await s.heard("call_raising")

    s.run(body)
    save(s, "pendant-weekly-test", "Weekly pendant test (每周按钮测试)",
         "Tuesday 09:05, the configured test day and time: the unit asks the resident to press her bedroom "
         "pendant once; the press is a test (`trigger.tested`), not a call. A later press is a call again.")
    assert without_chimes(s.transcript()) == [("say", "trigger_test_ask"), ("event", "trigger.tested"),
                                              ("say", "trigger_test_ok"), ("event", "call.raised"),
                                              ("say", "call_raising")]
    ask = next(u for u in s.spoken() if u["key"] == "trigger_test_ask")
    assert "卧室" in ask["text"] and 300 - 60 <= ask["start"] <= 300 + 60  # at 09:05, on the minute check
    assert_one_voice(s.spoken())


def test_weekly_test_without_a_press_is_reported(tmp_path: Path, broker: Broker) -> None:
    s = trig_scenario(tmp_path, broker, test_day="tue", test_time="09:05", test_wait_s=60)

    async def body(s: Scenario) -> None:
        fault = await s.event("fault.trigger", timeout=900, reason="test_failed")
        assert fault.data["trigger"] == "pendant" and fault.data["room"] == "卧室"
        await s.heard("trigger_test_missed")

    s.run(body)
    assert without_chimes(s.transcript())[:3] == [("say", "trigger_test_ask"), ("say", "trigger_test_missed"),
                                                  ("event", "fault.trigger")] or \
        without_chimes(s.transcript())[:3] == [("say", "trigger_test_ask"), ("event", "fault.trigger"),
                                               ("say", "trigger_test_missed")]
    assert not events(s, "call.raised")
    # `hub selftest --only triggers` on the stopped hub: one row per trigger, from the state it kept
    env = Env(s.config, simulated_hardware())
    rows = {r.check: r for r in asyncio.run(run_automatic(env, only="triggers"))}
    assert rows["pendant"].result == "fail" and "卧室" in rows["pendant"].value
    assert "heard 2025-03-04" in rows["pendant"].value and "battery -, signal -" in rows["pendant"].value
    assert "绑定密钥" in rows["pendant"].remedy
    assert rows["cord"].result == "pass" and "卫生间" in rows["cord"].value

