"""Door contacts and bed/chair mats: names, supervision, config checks, and end to end on a simulated hub
(`hub sim door|mat`, presence in the inactivity status, fault.sensor/fault.cleared, the self-test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from schemas import assert_valid
from support import online_hub

from hub.config.loader import ConfigError, validate
from hub.detect.contacts.inputs import Supervision, door, mat

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
DOOR = {"name": "front", "pin": 16, "kind": "door", "exit": True, "closed_when_shut": True, "bounce_ms": 50,
        "open_fault_h": 12.0, "silent_days": 7.0}
MAT = {"name": "bed", "pin": 20, "place": "bed", "closed_when_occupied": True, "bounce_ms": 300,
       "stuck_h": 16.0, "silent_days": 3.0}


def test_activity_names_follow_the_event_log_convention() -> None:
    assert door(DOOR).source == "X-door-front" and door({**DOOR, "exit": False, "kind": "fridge"}).source \
        == "D-fridge-front"
    assert mat(MAT).source == "P-bed-bed" and mat({**MAT, "place": "chair"}).part == "pressure mat 'bed' GPIO20"


def test_stuck_and_silent_faults_clear_when_the_contact_changes() -> None:
    front, bed = door(DOOR), mat(MAT)
    sup = Supervision([front, bed], T0)
    assert sup.change(front, True, T0 + H) == []
    assert sup.check(T0 + 12 * H) == []
    stuck = sup.check(T0 + 13 * H)
    assert [(c.action, c.contact.name, c.kind) for c in stuck] == [("fault", "front", "stuck")]
    assert "open for 12.0 h" in stuck[0].detail
    assert sup.check(T0 + 14 * H) == []  # once
    cleared = sup.change(front, False, T0 + 15 * H)
    assert [(c.action, c.kind) for c in cleared] == [("cleared", "stuck")]
    silent = sup.check(T0 + 73 * H)
    assert [(c.contact.name, c.kind) for c in silent] == [("bed", "silent")]
    assert "no change for 3.0 days" in silent[0].detail
    assert [c.action for c in sup.change(bed, True, T0 + 80 * H)] == ["cleared"]


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ({"doors": [DOOR, {**DOOR, "pin": 19}]}, "doors[1].name", "used twice"),
    ({"doors": [DOOR, {**DOOR, "name": "back", "pin": 19}]}, "doors", "more than one door has exit"),
    ({"doors": [DOOR], "mats": [{**MAT, "pin": 16}]}, "mats[0].pin", "GPIO16 is already used by doors[0].pin"),
    ({"mats": [{**MAT, "name": "my bed"}]}, "mats[0].name", "letters, digits"),
])
def test_config_checks_name_the_key(extra: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate(extra, "hub.toml")
    assert info.value.key == key and problem in str(info.value)


CONFIG = """[voice]
enabled = false
[[doors]]
name = "front"
pin = 16
exit = true
[[doors]]
name = "fridge"
pin = 19
kind = "fridge"
[[mats]]
name = "bed"
pin = 20
stuck_h = 0.005
"""


def test_doors_and_mats_end_to_end(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, CONFIG)
    status = hub.status()["contacts"]
    assert status["door:front"]["state"] == "shut" and status["door:front"]["exit"] is True
    assert status["mat:bed"]["state"] == "free" and status["door:fridge"]["fault"] is None
    # Going out: the exit door opens and shuts, then nothing: presumed out, no timer.
    assert hub.sim("door", "open")["state"] == "open"
    assert hub.sim("door", "close")["state"] == "shut"
    inactivity = hub.status()["inactivity"]
    assert inactivity["presumed_out"] is True and inactivity["alarm_due"] is None
    # Back home: the door alone is not enough; lying down on the bed is someone home.
    hub.sim("door", "open")
    hub.sim("door", "close")
    assert hub.status()["inactivity"]["presumed_out"] is True
    hub.sim("inactivity", "0.01")  # past exit_settle_s: not the hall as the door shuts
    assert hub.sim("mat", "on")["state"] == "occupied"
    inactivity = hub.status()["inactivity"]
    assert inactivity["presumed_out"] is False and inactivity["alarm_due"] is not None
    # The mat stays occupied past stuck_h: a supervision fault with a remedy, cleared by a change.
    hub.sim("inactivity", "0.01")
    assert hub.sim("mat", "on")["fault"] == "stuck"
    fault = sub.wait_event("fault.sensor", 10, component="mat")
    assert fault, hub.log_tail()
    assert_valid(fault)
    assert fault["data"]["kind"] == "stuck" and "GPIO20" in fault["data"]["remedy"]
    assert hub.sim("mat", "off")["fault"] is None
    cleared = sub.wait_event("fault.cleared", 10, component="mat")
    assert cleared and cleared["data"]["fault_id"] == fault["id"]
    assert_valid(cleared)
    # The verbs name what is wrong.
    bad = hub.cli("sim", "door", "open", "--name", "garage")
    assert bad.returncode != 0 and "front, fridge" in bad.stderr + bad.stdout
    # The self-test reads every contact from the config.
    r = hub.cli("selftest", "--non-interactive", "--only", "contacts", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"door:fridge"' in r.stdout and '"mat:bed"' in r.stdout
