"""Zigbee sensors end to end: zigbee2mqtt's documented payloads on a real mosquitto, the hub reading them.

The test plays zigbee2mqtt (tests/zigbee_payloads.py: bridge/devices with each model's documented exposes,
the states its converters publish) on the same broker the platform subscriber watches, so one client sees
the valve's `set` and the platform's alarm in the broker's own order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from schemas import assert_valid
from support import PREFIX, HubProcess, Subscriber, wait_online, wait_spoken, wait_until
from zigbee_payloads import (
    BASE,
    CO_ON,
    GAS_OFF,
    GAS_ON,
    SMOKE_ON,
    SOS,
    VALVE_OFF,
    WATER_ON,
    config,
    devices,
)

EVENTS = f"{PREFIX}/test-0001/event/"


def z2m(sub: Subscriber, topic: str, body: Any, retain: bool = False) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body)
    sub.client.publish(f"{BASE}/{topic}", payload, qos=1, retain=retain).wait_for_publish(5)


def zigbee_row(hub: HubProcess, name: str) -> dict[str, Any] | None:
    rows = (hub.status().get("zigbee") or {}).get("devices") or []
    return next((r for r in rows if r["friendly_name"] == name), None)


def start(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], port: int,
          confirm: float = 5, before: Callable[[Subscriber], None] = lambda s: None) -> tuple[HubProcess, Subscriber]:
    sub = subscriber("#")  # the platform's topics and zigbee2mqtt's, in the order the broker delivers them
    z2m(sub, "bridge/state", {"state": "online"}, retain=True)
    z2m(sub, "bridge/devices", devices().encode(), retain=True)
    before(sub)
    hub = make_hub(extra=config(port, confirm))
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (zigbee_row(hub, "kitchen_gas") or {}).get("used"), 20, "bridge/devices read by the hub")
    return hub, sub


def arrival(sub: Subscriber, predicate: Callable[[tuple[float, str, Any]], bool]) -> int:
    with sub.lock:
        return next(i for i, m in enumerate(sub.messages) if predicate(m))


def test_gas_closes_the_valve_before_the_alarm_reaches_the_platform(make_hub, subscriber, broker) -> None:
    hub, sub = start(make_hub, subscriber, broker.port)
    # The attacker's first probes, each before the real report: none may raise anything.
    z2m(sub, "neighbour_gas", GAS_ON)  # paired on this bridge, not configured here
    z2m(sub, "thermo", GAS_ON)  # configured as gas, but its model exposes no gas
    z2m(sub, "kitchen_gas", b"gas!")  # not JSON
    z2m(sub, "kitchen_gas", {"gas": "true", "linkquality": 100})  # wrong type
    z2m(sub, "kitchen_gas", b'{"gas": false, "gas": true}')  # the same key twice
    z2m(sub, "kitchen_gas", b'{"gas": true, "pad": "' + b"x" * 5000 + b'"}')  # oversize
    z2m(sub, "kitchen_gas", {"gas": True, "battery": 900})  # out of range
    z2m(sub, "kitchen_gas/set", {"gas": True})  # a command topic, never a state
    z2m(sub, "kitchen_gas", GAS_ON)  # the real one

    alarm = sub.wait_event("alarm.gas", timeout=15)
    assert alarm is not None, hub.log_tail()
    set_at = arrival(sub, lambda m: m[1] == f"{BASE}/gas_valve/set")
    alarm_at = arrival(sub, lambda m: m[1].startswith(EVENTS) and isinstance(m[2], dict)
                       and m[2].get("type") == "alarm.gas")
    assert set_at < alarm_at, "the valve's set must reach the broker before the alarm"
    with sub.lock:
        assert json.loads(sub.messages[set_at][2] if isinstance(sub.messages[set_at][2], bytes)
                          else json.dumps(sub.messages[set_at][2])) == {"state": "OFF"}
    assert alarm["data"]["device"] == "kitchen_gas" and alarm["data"]["room"] == "厨房"
    assert alarm["data"]["model"] == "HS1CG-M"
    assert alarm["data"]["valves"] == [{"device": "gas_valve", "sent": True}]
    assert alarm["data"]["context"]["trigger"]["by"] == "zigbee"

    z2m(sub, "gas_valve", VALVE_OFF)  # zigbee2mqtt publishes the valve's new state
    closed = sub.wait_event("valve.closed", timeout=10, device="gas_valve", alarm_id=alarm["id"])
    assert closed is not None, hub.log_tail()
    z2m(sub, "kitchen_gas", GAS_ON)  # the next report: the same alarm, not a new one
    z2m(sub, "kitchen_gas", GAS_OFF)
    cleared = sub.wait_event("alarm.gas_cleared", timeout=10, alarm_id=alarm["id"])
    assert cleared is not None and cleared["data"]["acked"] is False  # gone, but nobody has taken it yet
    assert [e["data"]["device"] for e in sub.events("alarm.gas")] == ["kitchen_gas"]
    assert not sub.events("fault.valve")

    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": alarm["id"], "by": "duty01"}))
    acked = sub.wait_event("alarm.acknowledged", timeout=10, alarm_id=alarm["id"])
    assert acked is not None and acked["data"]["alarm_type"] == "alarm.gas"
    for event in (alarm, closed, cleared, acked, *sub.events("fault.zigbee")):
        assert_valid(event)
    said = wait_spoken(hub, "zigbee_gas_alarm", room="厨房")
    assert said is not None and "通风" in said["text"] and "不要开关电灯和电器" in said["text"]
    assert wait_spoken(hub, "zigbee_gas_valve_closed") is not None
    # The configured thermometer cannot be a gas sensor: reported, with the reason.
    fault = sub.wait_event("fault.zigbee", timeout=5, device="thermo", kind="unusable")
    assert fault is not None and "exposes" in fault["data"]["detail"]
    assert not (zigbee_row(hub, "thermo") or {}).get("used")


def test_retained_alarm_state_at_start_is_history_not_an_alarm(make_hub, subscriber, broker) -> None:
    def stale(sub: Subscriber) -> None:  # a retained gas=true from an old leak (a device with retain: true)
        z2m(sub, "kitchen_gas", GAS_ON, retain=True)

    hub, sub = start(make_hub, subscriber, broker.port, before=stale)
    z2m(sub, "kitchen_gas", GAS_OFF)  # a fresh report: heard
    wait_until(lambda: (zigbee_row(hub, "kitchen_gas") or {}).get("heard"), 10, "a fresh report heard")
    assert not sub.events("alarm.gas")  # the retained one, delivered at subscribe, raised nothing
    z2m(sub, "kitchen_gas", GAS_ON)  # a fresh leak
    assert sub.wait_event("alarm.gas", timeout=15, device="kitchen_gas") is not None
    assert len(sub.events("alarm.gas")) == 1


@pytest.mark.slow
def test_co_water_smoke_sos_offline_and_a_stuck_valve(make_hub, subscriber, broker) -> None:
    hub, sub = start(make_hub, subscriber, broker.port, confirm=2)
    z2m(sub, "bed_sos", SOS)
    call = sub.wait_event("call.raised", timeout=15, device="zigbee:bed_sos", room="卧室")
    assert call is not None, hub.log_tail()
    assert call["data"]["kind"] == "emergency"
    assert "zigbee:bed_sos (卧室)" in call["data"]["context"]["trigger"]["detail"]
    z2m(sub, "bed_sos", SOS)  # pressed again while open: the same call
    z2m(sub, "bedroom_co", CO_ON)
    co = sub.wait_event("alarm.co", timeout=10, device="bedroom_co", room="卧室")
    assert co is not None
    assert len(sub.events("call.raised")) == 1
    z2m(sub, "bath_leak", WATER_ON)
    assert sub.wait_event("alarm.water", timeout=10, device="bath_leak", room="卫生间") is not None
    z2m(sub, "hall_smoke", SMOKE_ON)
    fire = sub.wait_event("alarm.fire", timeout=10, source="zigbee")
    assert fire is not None and "hall_smoke" in fire["data"]["part"]
    warned = wait_spoken(hub, "sensors_fire_alarm_in", room="客厅")  # the detector's room, never "厨房"
    assert warned is not None and warned["text"].startswith("客厅检测到烟雾，请马上离开家，随手关门，不要回去")
    z2m(sub, "bath_leak/availability", {"state": "offline"})
    offline = sub.wait_event("fault.zigbee", timeout=10, device="bath_leak", kind="offline")
    assert offline is not None and offline["data"]["room"] == "卫生间"
    z2m(sub, "bath_leak/availability", {"state": "online"})
    assert sub.wait_event("fault.zigbee_cleared", timeout=10, device="bath_leak",
                          fault_id=offline["id"]) is not None
    z2m(sub, "kitchen_gas", GAS_ON)  # the valve never answers
    gas = sub.wait_event("alarm.gas", timeout=10)
    assert gas is not None
    stuck = sub.wait_event("fault.valve", timeout=10, device="gas_valve", alarm_id=gas["id"])
    assert stuck is not None and stuck["data"]["reason"] == "no_confirmation"
    assert wait_spoken(hub, "zigbee_gas_valve_fault") is not None
    assert wait_spoken(hub, "zigbee_co_alarm", room="卧室") is not None
    for event in sub.events():
        if event["type"] in ("call.raised", "alarm.co", "alarm.water", "alarm.fire", "fault.zigbee",
                             "fault.zigbee_cleared", "alarm.gas", "fault.valve"):
            assert_valid(event)


def test_hub_sim_zigbee_plays_the_bridge_and_the_valve(make_hub, subscriber, broker) -> None:
    sub = subscriber("#")
    extra = config(broker.port).replace("sim_bridge = false", "sim_bridge = true")
    hub = make_hub(extra=extra)
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (zigbee_row(hub, "kitchen_gas") or {}).get("used"), 20, "the simulated bridge's devices")
    hub.sim("zigbee", "motion", "on")  # she walks through the hall: a sign of life, for the card
    wait_until(lambda: (zigbee_row(hub, "hall_motion") or {}).get("heard"), 10, "the motion report")
    answer = hub.sim("zigbee", "gas", "on")
    assert answer["ok"] and answer["topic"] == f"{BASE}/kitchen_gas"
    alarm = sub.wait_event("alarm.gas", timeout=15)
    assert alarm is not None
    assert alarm["data"]["context"]["last_motion"]["room"] == "客厅"
    assert sub.wait_event("valve.closed", timeout=10, alarm_id=alarm["id"]) is not None
    # The installer's verbs, against the (simulated) bridge on the unit's broker.
    listed = hub.cli("zigbee", "list")
    assert "kitchen_gas" in listed.stdout and "HS1CG-M" in listed.stdout, listed.stderr
    joined = hub.cli("zigbee", "permit-join", "60")
    assert joined.returncode == 0 and "60" in joined.stdout, joined.stderr
    assert sub.wait_for(lambda m: m[1] == f"{BASE}/bridge/request/permit_join") is not None


def zigbee_link_up(hub: HubProcess) -> bool:
    return bool((hub.status().get("zigbee") or {}).get("broker"))


def test_the_local_link_comes_back_after_the_broker_restarts(make_hub, subscriber, broker) -> None:
    hub, sub = start(make_hub, subscriber, broker.port)
    broker.stop()
    wait_until(lambda: not zigbee_link_up(hub), 15, "the hub to see the local broker gone")
    broker.start()
    wait_until(lambda: zigbee_link_up(hub), 60, "the zigbee link back (backoff with jitter)")
    # The test's own zigbee2mqtt stand-in reconnects on its own backoff: the hub may be back first
    # (fresh-clone CI: "The client is not currently connected" on the publish below).
    wait_until(lambda: sub.client.is_connected(), 30, "the zigbee2mqtt stand-in reconnected")
    z2m(sub, "kitchen_gas", GAS_ON)
    alarm = sub.wait_event("alarm.gas", timeout=30, device="kitchen_gas")
    assert alarm is not None, hub.log_tail()


def test_a_leak_gone_at_once_still_clears_the_alarm_it_raised(make_hub, subscriber, broker) -> None:
    hub, sub = start(make_hub, subscriber, broker.port)
    z2m(sub, "kitchen_gas", GAS_ON)
    z2m(sub, "kitchen_gas", GAS_OFF)  # while the valve's PUBACK is still awaited
    alarm = sub.wait_event("alarm.gas", timeout=15)
    assert alarm is not None, hub.log_tail()
    cleared = sub.wait_event("alarm.gas_cleared", timeout=15)
    assert cleared is not None and cleared["data"]["alarm_id"] == alarm["id"]
    assert cleared["seq"] > alarm["seq"]
    wait_until(lambda: not any(a.get("present") for a in hub.status()["open_alarms"] if a["type"] == "alarm.gas"),
               10, "the alarm no longer present")
