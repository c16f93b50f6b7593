"""The Home Assistant bridge end to end: a simulated hub and a real mosquitto; the discovery documents
must pass Home Assistant's rules (tests/ha_discovery.py) and the states must follow a call, its ack and
the readings, as a relative's Home Assistant would show them."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
from ha_discovery import problems, template_key
from support import PREFIX, Subscriber, wait_online, wait_until

pytestmark = pytest.mark.timeout(120)

HUB = "test-0001"
BRIDGE = f"eldercare-bridge/{HUB}"
HA = """
[homeassistant]
enabled = true
device_name = "王阿姨家 Grandma Wang's home"
activity_every_s = 5

[sensors]
telemetry_s = 1.0

[temperature]
poll_s = 0.2
"""


def _latest(sub: Subscriber, topic: str) -> Any:
    with sub.lock:
        found = [m[2] for m in sub.messages if m[1] == topic]
    return found[-1] if found else None


def _state_until(sub: Subscriber, name: str, predicate, timeout: float = 10) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    topic = f"{BRIDGE}/{name}"

    def matched() -> dict[str, Any] | None:
        state = _latest(sub, topic)
        return state if isinstance(state, dict) and predicate(state) else None
    return dict(wait_until(matched, timeout, lambda: f"{topic} to match; last: {_latest(sub, topic)!r}"))


def _shown(doc: dict[str, Any], state: dict[str, Any]) -> Any:
    """What Home Assistant shows for `doc` given the JSON on its state topic (its value_template)."""
    key = template_key(doc["value_template"])
    assert key is not None, doc["value_template"]
    return state[key]


def _configs(sub: Subscriber) -> dict[str, dict[str, Any]]:
    with sub.lock:
        return {m[1]: m[2] for m in sub.messages if m[1].startswith("homeassistant/") and m[1].endswith("/config")}


def test_discovery_documents_pass_home_assistants_rules(make_hub, subscriber):
    sub = subscriber("#")
    hub = make_hub(extra=HA)
    assert wait_online(sub, HUB), hub.log_tail()
    assert sub.wait_for(lambda m: m[1] == f"homeassistant/sensor/{HUB}/glucose/config", 10), hub.log_tail()
    configs = _configs(sub)
    objects = {topic.split("/")[3] for topic in configs}
    assert objects == {"help_needed", "open_calls", "last_activity", "temperature", "humidity", "bp_systolic",
                       "bp_diastolic", "glucose"}
    found = [p for topic, doc in configs.items() for p in problems(topic, doc, "homeassistant", BRIDGE)]
    assert found == []
    assert len({doc["unique_id"] for doc in configs.values()}) == len(configs)
    devices = {json.dumps(doc["device"], sort_keys=True) for doc in configs.values()}
    assert len(devices) == 1 and "Grandma Wang" in devices.pop()  # one device, every entity on it
    # Availability is the hub's own retained status (its Last Will says offline).
    for doc in configs.values():
        (entry,) = doc["availability"]
        assert entry["topic"] == f"{PREFIX}/{HUB}/status"
        assert _shown({"value_template": entry["value_template"]}, _latest(sub, entry["topic"])) == "online"
    # Retained: a Home Assistant that connects later gets every document and the current states.
    late = subscriber("homeassistant/#", client_id="late-home-assistant")
    assert late.wait_for(lambda m: len({x[1] for x in late.messages}) >= len(configs), 10)
    assert {m[1] for m in late.messages} == set(configs) and all(m[2] for m in late.messages)
    hub.stop()
    status = sub.wait_for(lambda m: m[1] == f"{PREFIX}/{HUB}/status" and isinstance(m[2], dict)
                          and m[2].get("state") == "offline", 10)
    assert status, "Home Assistant would still show the hub as available"


def test_states_follow_a_call_its_ack_and_the_readings(make_hub, subscriber):
    sub = subscriber("#")
    hub = make_hub(extra=HA)
    assert wait_online(sub, HUB), hub.log_tail()
    assert sub.wait_for(lambda m: m[1] == f"homeassistant/sensor/{HUB}/glucose/config", 10)
    configs = {topic.split("/")[3]: doc for topic, doc in _configs(sub).items()}
    quiet = _state_until(sub, "alarms", lambda s: True)
    assert _shown(configs["help_needed"], quiet) == "OFF" and _shown(configs["open_calls"], quiet) == 0

    call_id = hub.sim("press", "--button", "17")["event_id"]
    calling = _state_until(sub, "alarms", lambda s: s["open_calls"] == 1)
    assert _shown(configs["help_needed"], calling) == configs["help_needed"]["payload_on"]
    assert calling["alarms"][0]["type"] == "call.raised" and not calling["alarms"][0]["acknowledged"]
    sub.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id, "by": "operator-7"}))
    answered = _state_until(sub, "alarms", lambda s: s["open_calls"] == 0)
    assert _shown(configs["help_needed"], answered) == configs["help_needed"]["payload_off"]

    hub.sim("bp", "150", "95", "--pulse", "72")
    bp = _state_until(sub, "blood_pressure", lambda s: s["systolic"] == 150)
    assert (_shown(configs["bp_systolic"], bp), _shown(configs["bp_diastolic"], bp)) == (150, 95)
    assert bp["grade"] == "grade_1" and bp["pulse"] == 72
    hub.sim("glucose", "6.1", "--meal", "fasting")
    glucose = _state_until(sub, "glucose", lambda s: True)
    assert _shown(configs["glucose"], glucose) == 6.1 and glucose["category"]
    hub.sim("temperature", "24.5")
    climate = _state_until(sub, "climate", lambda s: abs(s["temperature_c"] - 24.5) < 0.2)
    assert isinstance(_shown(configs["humidity"], climate), int | float)
    moved = time.time()
    hub.sim("motion")
    # Any later sign of life (the simulated radar notes presence too) may be the one shown, once
    # activity_every_s has passed since the last one sent: what counts is that it is this recent.
    activity = _state_until(sub, "activity", lambda s: datetime.fromisoformat(s["last"]).timestamp() >= moved)
    shown = datetime.fromisoformat(_shown(configs["last_activity"], activity))
    assert shown.tzinfo is not None  # Home Assistant refuses a timestamp without its zone


def test_off_by_default_nothing_leaves_the_hubs_own_tree(make_hub, subscriber):
    sub = subscriber("#")
    hub = make_hub()
    assert wait_online(sub, HUB), hub.log_tail()
    hub.sim("press")
    assert sub.wait_event("call.raised", 5)
    with sub.lock:
        outside = {m[1] for m in sub.messages if not m[1].startswith(f"{PREFIX}/{HUB}/")}
    assert outside == set()


def test_a_broker_that_lost_its_retained_messages_gets_them_back(make_hub, subscriber, broker):
    sub = subscriber(f"{PREFIX}/{HUB}/status")
    hub = make_hub(extra=HA)
    assert wait_online(sub, HUB), hub.log_tail()
    hub.sim("press")
    broker.stop()
    for db in broker.root.glob("mosquitto*.db"):
        db.unlink()  # it comes back with no retained message at all
    restarted = time.time()
    broker.start()
    assert sub.wait_for(lambda m: m[0] >= restarted and isinstance(m[2], dict) and m[2].get("state") == "online",
                        20), hub.log_tail()
    late = subscriber("#", client_id="home-assistant-after-the-restart")
    assert late.wait_for(lambda m: m[1] == f"homeassistant/sensor/{HUB}/glucose/config", 10), hub.log_tail()
    alarms = _state_until(late, "alarms", lambda s: True)
    assert alarms["open_calls"] == 1 and alarms["help"] == "ON"  # the latest picture, not a stale one
