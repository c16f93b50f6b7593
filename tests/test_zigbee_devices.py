"""hub.zigbee.devices: what a device is comes from its exposes, and a state is read strictly — the first
probes of anyone who can publish on the unit's broker, each refused with a reason."""

from __future__ import annotations

import json

import pytest
from zigbee_payloads import HOME, HS1CA_E, HS1CG_M, HS1EB, HS1SA, RTCGQ11LM, SJCGQ11LM, TS0111_VALVE, TS0201

from hub.zigbee.devices import Refused, read_availability, read_devices, read_state, supported_roles


@pytest.mark.parametrize(("exposes", "roles"), [
    (HS1CG_M, {"gas"}), (HS1CA_E, {"co"}), (SJCGQ11LM, {"water"}), (HS1SA, {"smoke"}), (HS1EB, {"sos"}),
    (TS0111_VALVE, {"gas_valve", "water_valve"}), (RTCGQ11LM, {"motion"}), (TS0201, set()),
])
def test_roles_come_from_the_documented_exposes(exposes, roles) -> None:
    assert supported_roles({"model": "x", "exposes": exposes}) == roles


def test_a_read_only_state_is_no_valve_and_a_name_says_nothing() -> None:
    read_only = [{"type": "switch", "features": [{"type": "binary", "property": "state", "access": 1}]}]
    assert supported_roles({"model": "gas_valve", "exposes": read_only}) == set()
    assert supported_roles({"model": "HS1CG gas sensor", "exposes": []}) == set()


def test_bridge_devices_against_the_config() -> None:
    configured = {"kitchen_gas": {"role": "gas", "room": "厨房"}, "thermo": {"role": "gas", "room": "客厅"}}
    known = read_devices(json.dumps(HOME).encode(), configured)
    assert "Coordinator" not in known
    assert known["kitchen_gas"].used and known["kitchen_gas"].room == "厨房"
    assert "exposes nothing this hub uses" in known["thermo"].reason
    assert known["neighbour_gas"].reason == "not in [[zigbee.devices]]"
    unfinished = [{**HOME[0], "friendly_name": "new", "interview_completed": False}]
    assert "interview" in read_devices(json.dumps(unfinished).encode(), {"new": configured["kitchen_gas"]})[
        "new"].reason


@pytest.mark.parametrize(("payload", "why"), [
    (b"gas!", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b'{"gas": NaN}', "not JSON"),
    (b'{"gas": false, "gas": true}', "twice"),
    (b'{"gas": true, "pad": "' + b"x" * 5000 + b'"}', "more than"),
    (b'{"gas": "true"}', "true or false"),
    (b'{"gas": 1}', "true or false"),
    (b'[{"gas": true}]', "not a JSON object"),
    (b'{"battery": 900}', "battery"),
    (b'{"linkquality": true}', "linkquality"),
    (b'{"state": "CLOSED"}', "ON or OFF"),
    (b'{"action": ' + json.dumps("x" * 40).encode() + b"}", "short string"),
    (b"[" * 4000, "not JSON"),  # nested deeper than the parser goes
])
def test_hostile_states_are_refused(payload: bytes, why: str) -> None:
    with pytest.raises(Refused, match=why):
        read_state(payload)


def test_documented_states_read() -> None:
    gas = read_state(b'{"gas": true, "battery_low": false, "tamper": false, "linkquality": 112}')
    assert gas.values == {"gas": True} and gas.battery_low is False and gas.linkquality == 112
    assert read_state(b'{"state": "OFF", "power_on_behavior": "previous"}').valve_open is False
    assert read_state(b'{"valve_state": "close"}').valve_open is False
    assert read_state(b'{"action": "emergency", "battery": 100}').action == "emergency"
    assert read_state(b'{"action": ""}').action is None  # zigbee2mqtt's reset of a momentary action


def test_availability_new_and_legacy() -> None:
    assert read_availability(b'{"state": "online"}') and not read_availability(b'{"state": "offline"}')
    assert read_availability(b"online") and not read_availability(b"offline")
    with pytest.raises(Refused):
        read_availability(b'{"state": "maybe"}')


@pytest.mark.parametrize(("devices", "problem"), [
    ([{"friendly_name": "gas/#", "room": "厨房", "role": "gas"}], "no spaces"),
    ([{"friendly_name": "a", "room": "厨房", "role": "gas"}, {"friendly_name": "a", "room": "卧室", "role": "co"}],
     "twice"),
    ([{"friendly_name": "a", "room": "厨房", "role": "bomb"}], "role must be one of"),
    ([{"friendly_name": "a", "room": "", "role": "gas"}], "room must be"),
    ([{"friendly_name": "a", "room": "厨房", "role": "gas", "key": "x"}], "unknown key"),
    ([{"friendly_name": "a", "roome": "厨房", "role": "gas"}], r"roome \(是不是 did you mean 'room'\?\)"),  # a typo
])
def test_config_refuses_what_would_make_a_wrong_topic_or_role(devices, problem) -> None:
    from hub.config.loader import ConfigError, validate

    with pytest.raises(ConfigError, match=problem):
        validate({"hub": {"id": "x-1"}, "zigbee": {"enabled": True, "devices": devices}})


def test_every_valve_role_has_its_own_closed_and_fault_prompt() -> None:
    """"阀门没有关上，请用手关上总阀" did not say which: a home with a gas and a water valve could not tell which
    main valve to close by hand. Each valve role names itself (hub.zigbee.alarms says zigbee_{role}_closed/_fault)."""
    from hub.zigbee.devices import VALVE_ROLES
    from voice.catalogue import catalogue

    prompts = catalogue()
    for role, word in (("gas_valve", "燃气"), ("water_valve", "水")):
        assert role in VALVE_ROLES
        assert word in prompts[f"zigbee_{role}_closed"].text("zh")
        fault = prompts[f"zigbee_{role}_fault"].text("zh")
        assert word in fault and "用手" in fault
    assert set(VALVE_ROLES) == {"gas_valve", "water_valve"}  # a new role needs its two prompts
