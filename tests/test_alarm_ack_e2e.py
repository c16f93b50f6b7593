"""Every alarm closes the loop: `cmd/ack` round trip for each kind the hub raises, over a real mosquitto.

For each kind: the alarm reaches the broker, the status lists it (not escalated, not acknowledged),
the platform acks it by id with an operator's name, the hub publishes the schema-valid
`<category>.acknowledged` and the resident hears who has it; the status no longer lists it (a lasting
alarm whose condition is still there stays listed, acknowledged, until it clears).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from schemas import assert_valid, assert_valid_as
from support import FALL_PARTS, PREFIX, HubProcess, Subscriber, online_hub, wait_spoken

pytestmark = pytest.mark.timeout(120)

# Everything fitted and fast: prompts recorded at once (voice off), no power-up inhibit, short countdown.
CONFIG = """
[voice]
enabled = false
[temperature]
poll_s = 0.2
heat_sustain_s = 0
cold_sustain_s = 0
inhibit_s = 0
[power]
fitted = true
lost_after_s = 0.5
low_battery_pin = 13
[fall]
countdown_s = 1.0
prompt_every_s = 1.0
""" + FALL_PARTS + """[inactivity]
fallback_day_h = 2.0
night_min_h = 1.0
night_max_h = 2.0
check_wait_s = 600.0
"""
OPERATOR = "王芳"


@dataclass(frozen=True)
class Kind:
    alarm: str  # the opening event type
    trigger: tuple[str, ...]  # `hub sim` verb and arguments
    acked: str  # the event published on ack
    lasting: bool = False  # still present after the ack (the trigger's condition goes on)


KINDS = {
    "call-emergency": Kind("call.raised", ("press", "--button", "17"), "call.acknowledged"),
    "call-health": Kind("call.raised", ("press", "--button", "27"), "call.acknowledged"),
    "call-service": Kind("call.raised", ("press", "--button", "22"), "call.acknowledged"),
    "call-family": Kind("call.raised", ("press", "--button", "23"), "call.acknowledged"),
    "fire": Kind("alarm.fire", ("smoke", "on"), "alarm.acknowledged", lasting=True),
    "heat": Kind("alarm.heat", ("temperature", "39"), "alarm.acknowledged", lasting=True),
    "cold": Kind("alarm.cold", ("temperature", "6"), "alarm.acknowledged", lasting=True),
    "fall": Kind("alarm.fall", ("fall",), "alarm.acknowledged"),
    "inactivity": Kind("alarm.inactivity", ("inactivity", "3"), "alarm.acknowledged"),
    "health-alert": Kind("health.alert", ("glucose", "2.8", "--meal", "fasting"), "health.acknowledged"),
    "power-lost": Kind("power.lost", ("power", "lost"), "power.acknowledged", lasting=True),
    "battery-low": Kind("power.battery_low", ("power", "battery_low"), "power.acknowledged"),
}


def listed(hub: HubProcess, alarm_id: str) -> dict | None:
    return next((a for a in hub.status()["open_alarms"] if a["alarm_id"] == alarm_id), None)


@pytest.mark.parametrize("name", list(KINDS))
def test_ack_round_trip_for_every_alarm_kind(name: str, make_hub: Callable[..., HubProcess],
                                             subscriber: Callable[..., Subscriber]) -> None:
    kind = KINDS[name]
    hub, sub = online_hub(make_hub, subscriber, CONFIG)
    hub.sim(*kind.trigger)
    raised = sub.wait_event(kind.alarm, 15)
    assert raised, hub.log_tail()
    assert_valid(raised)
    before = listed(hub, raised["id"])
    assert before and before["type"] == kind.alarm
    assert before["escalated"] is False and before["acknowledged"] is False
    assert ("present" in before) is kind.lasting

    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": raised["id"], "by": OPERATOR,
                                                           "message": "马上到"}, ensure_ascii=False))
    acked = sub.wait_event(kind.acked, 10)
    assert acked, hub.log_tail()
    assert_valid(acked)
    ref = "call_id" if kind.alarm == "call.raised" else "alarm_id"
    assert acked["data"][ref] == raised["id"] and acked["data"]["by"] == OPERATOR
    assert acked["data"]["message"] == "马上到"
    if kind.alarm != "call.raised":
        assert acked["data"]["alarm_type"] == kind.alarm and acked["data"]["escalated"] is False
    assert acked["seq"] > raised["seq"]
    prompt = "call_acknowledged_by" if kind.alarm == "call.raised" else "alarm_acknowledged_by"
    told = wait_spoken(hub, prompt, name=OPERATOR)
    assert told and told["text"] == f"社区已收到，工作人员{OPERATOR}马上联系您", hub.spoken()

    status = hub.status()
    assert_valid_as("status", {**status, "state": "online"})
    after = listed(hub, raised["id"])
    if kind.lasting:  # the condition is still there: listed, acknowledged, until it clears
        assert after and after["acknowledged"] is True and after["present"] is True and after["by"] == OPERATOR
    else:
        assert after is None
    assert "unknown or closed event" not in hub.log_path.read_text()


def test_fire_acknowledged_while_present_closes_when_it_clears(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, CONFIG)
    hub.sim("smoke", "on")
    fire = sub.wait_event("alarm.fire", 10)
    assert fire, hub.log_tail()
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": fire["id"]}))
    acked = sub.wait_event("alarm.acknowledged", 10, alarm_id=fire["id"])
    assert acked and acked["data"]["present"] is True and acked["data"]["by"] == "platform"
    assert wait_spoken(hub, "alarm_acknowledged")  # no name given: the plain prompt
    hub.sim("smoke", "off")
    cleared = sub.wait_event("alarm.fire_cleared", 10, alarm_id=fire["id"])
    assert cleared and cleared["data"]["acked"] is True
    assert hub.status()["open_alarms"] == [] and hub.status()["fire_alarms"] == []


def test_a_second_ack_changes_nothing(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, CONFIG)  # voice off: what is said is recorded at once
    call_id = hub.sim("press", "--button", "17")["event_id"]
    ack = json.dumps({"event_id": call_id, "by": "operator-2"})
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", ack)
    assert sub.wait_event("call.acknowledged", 10, call_id=call_id)
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", ack)
    sub.publish(f"{PREFIX}/test-0001/cmd/ping", b"{}")  # handled after the second ack
    assert sub.wait_event("system.pong", 10)
    assert len(sub.events("call.acknowledged")) == 1
    assert [u["key"] for u in hub.spoken()].count("call_acknowledged") == 1  # a login: the generic 工作人员
