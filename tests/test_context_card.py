"""The alarm context card (hub/alarms/card.py) and its SMS short form (hub/alarms/sms_form.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hub.alarms.card import ALARM_TYPES, ContextCard, room_of, trigger
from hub.alarms.sms_form import SMS_MAX_CHARS, facts, short_form
from hub.config.loader import Config, validate
from hub.core.activity import ActivityStream
from hub.core.events import Event

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
T = datetime(2026, 11, 30, 2, 15, tzinfo=UTC).astimezone(tz=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
RESIDENT = {"reference": "R-0042", "address_ref": "B3-1202", "contacts_ref": "C-0042", "notes": "钥匙在门卫室"}
# One opening event's data per alarm type, as its capability raises it.
DATA: dict[str, dict[str, Any]] = {
    "call.raised": {"kind": "emergency", "button": 17},
    "alarm.fall": {"source": "wearable", "waited_s": 30.2, "outcome": "no_response"},
    "alarm.inactivity": {"reason": "gap", "check_wait_s": 300},
    "alarm.fire": {"cause": "smoke"},
    "alarm.heat": {"temperature_c": 36.5},
    "alarm.cold": {"temperature_c": 9.0},
    "health.alert": {"reason": "bp_very_high"},
    "power.lost": {"low_for_s": 60.0},
    "power.battery_low": {"mains_ok": False},
    "alarm.gas": {"device": "kitchen_gas", "room": "厨房", "model": "HS1CG-M", "valves": []},
    "alarm.co": {"device": "bedroom_co", "room": "卧室", "model": "HS1CA-E", "valves": []},
    "alarm.water": {"device": "bath_leak", "room": "卫生间", "model": "SJCGQ11LM", "valves": []},
}


def make_card(status: dict[str, Any] | None = None, **resident: str) -> ContextCard:
    config = Config(Path("hub.toml"), validate({"hub": {"resident_ref": "R-hub"}, "resident": resident}))
    return ContextCard(config, lambda: status or {})


@pytest.mark.parametrize(("event_type", "by", "countdown", "waited"), [
    ("call.raised", "button", "asked_for_help", None),
    ("alarm.fall", "fall", "timed_out", 30.2),
    ("alarm.inactivity", "inactivity", "no_answer", 300),
    ("alarm.fire", "smoke", "none", None),
    ("alarm.heat", "temperature", "none", None),
    ("alarm.cold", "temperature", "none", None),
    ("health.alert", "meter", "none", None),
    ("power.lost", "power", "none", None),
    ("power.battery_low", "power", "none", None),
    ("alarm.gas", "zigbee", "none", None),
    ("alarm.co", "zigbee", "none", None),
    ("alarm.water", "zigbee", "none", None),
])
def test_the_trigger_says_what_raised_it_and_how_its_countdown_ended(
        event_type: str, by: str, countdown: str, waited: float | None) -> None:
    assert set(DATA) == set(ALARM_TYPES)
    t = trigger(event_type, DATA[event_type])
    assert (t["by"], t["countdown"], t["waited_s"]) == (by, countdown, waited)


@pytest.mark.parametrize(("source", "room"), [
    ("pir", "客厅"), ("radar", "radar"), ("X-door-front:ON", "door front"), ("P-bed-main:OFF", "bed main"),
    ("D-fridge-kitchen:ON", "fridge kitchen"),
])
def test_where_a_movement_was_seen(source: str, room: str) -> None:
    assert room_of(source, "客厅") == room


def test_the_card_keeps_the_latest_facts_and_only_references() -> None:
    status = {"environment": {"temperature_c": 23.42, "humidity_pct": 40.0, "smoke": False}, "mains": "ok"}
    card = make_card(status, address_ref="B3-1202", contacts_ref="C-0042", notes="钥匙在门卫室", motion_room="卧室")
    activity = ActivityStream()
    card.attach(activity, type("Registry", (), {})(), lambda listener: None)
    activity.note("pir", T - timedelta(minutes=5))
    activity.note("button:17", T)  # a key press is not where she was last seen moving
    activity.note("ble:bp", T)  # nor a meter reading
    card.on_event(Event("measurement.blood_pressure", {"systolic": 150, "diastolic": 90, "pulse": 72,
                                                       "grade": "grade_1", "graded": True}, T - timedelta(hours=2)))
    card.on_event(Event("measurement.blood_pressure", {"systolic": 400, "diastolic": 10, "pulse": None,
                                                       "grade": None, "graded": False}, T))  # implausible: not kept
    card.on_event(Event("measurement.glucose", {"mmol_per_l": 6.1, "category": "normal", "graded": True}, T))
    data = card.enrich("alarm.fall", DATA["alarm.fall"])
    c = data["context"]
    assert c["last_motion"] == {"source": "pir", "room": "卧室", "at": (T - timedelta(minutes=5)).isoformat(
        timespec="milliseconds")}
    assert (c["bp"]["systolic"], c["bp"]["grade"]) == (150, "grade_1")
    assert c["glucose"]["mmol_per_l"] == 6.1
    assert c["home"] == {"temperature_c": 23.42, "smoke": False, "fire_alarm": False}
    assert c["power"] == {"mains": "ok", "battery": "unknown"}
    assert c["resident"] == {"reference": "R-hub", "address_ref": "B3-1202", "contacts_ref": "C-0042",
                             "notes": "钥匙在门卫室"}
    assert "context" not in card.enrich("measurement.glucose", {"mmol_per_l": 5.0})  # not an alarm

    card.on_event(Event("alarm.fire", {"cause": "smoke"}, T))
    card.on_event(Event("power.lost", {"low_for_s": 60}, T))
    later = card.card("call.raised", DATA["call.raised"])
    assert later["home"]["fire_alarm"] is True and later["power"]["mains"] == "ok"  # the live status wins
    card.on_event(Event("alarm.fire_cleared", {}, T))
    assert card.card("power.lost", DATA["power.lost"])["power"]["mains"] == "lost"
    assert card.card("call.raised", DATA["call.raised"])["home"]["fire_alarm"] is False


@pytest.mark.parametrize("event_type", ALARM_TYPES)
def test_every_alarm_schema_takes_the_card(event_type: str) -> None:
    card = make_card({"environment": {"temperature_c": None, "smoke": True}}, **RESIDENT)
    c = card.card(event_type, DATA[event_type])
    schema = json.loads((SCHEMAS / f"{event_type}.json").read_text())["properties"]["data"]["properties"]["context"]
    Draft202012Validator(schema).validate(c)
    assert c["home"]["smoke"] is True and c["last_motion"] is None and c["bp"] is None


def worst_card() -> dict[str, Any]:
    """Every fact present, each at its longest."""
    return {"trigger": {"by": "fall", "detail": "wearable", "countdown": "no_answer", "waited_s": 300},
            "last_motion": {"source": "X-door-front:ON", "room": "卫生间浴室阳台走廊",
                            "at": "2026-11-30T10:02:00.000+08:00"},
            "bp": {"systolic": 299.6, "diastolic": 199, "pulse": 180, "grade": "grade_3", "at": "…"},
            "glucose": {"mmol_per_l": 33.33, "category": "dangerous", "at": "…"},
            "home": {"temperature_c": -10.4, "smoke": True, "fire_alarm": True},
            "power": {"mains": "lost", "battery": "low"},
            "resident": {"reference": "R" * 32, "address_ref": "A" * 32, "contacts_ref": "C" * 32, "notes": "N" * 60}}


@pytest.mark.parametrize("hub_id", ["demo-0001", "h" * 64])
@pytest.mark.parametrize("reference", ["", "R-0042", "R" * 32])
@pytest.mark.parametrize("event_type", ALARM_TYPES)
def test_the_sms_is_one_ucs2_part_whatever_the_card(event_type: str, reference: str, hub_id: str) -> None:
    data = {**DATA[event_type], "kind": "emergency", "context": worst_card()}
    text = short_form(event_type, data, "5f3a9c21-0000-4000-8000-000000000000", T, hub_id, reference)
    assert len(text) <= SMS_MAX_CHARS, text
    assert "#5f3a9c21" in text and text.endswith(" 回复1#5f3a确认") and text.startswith("【一键呼】")
    body = text[: -len(" 回复1#5f3a确认")]
    # Whole facts only, most useful first: what made it in is a prefix-ordered subset of the card's facts.
    shown = [f for f in facts(worst_card()) if f" {f}" in body]
    assert shown == [f for f in facts(worst_card()) if f in shown]
    if hub_id == "demo-0001" and reference != "R" * 32:
        assert shown[:3] == ["询问无应答", "断电", "有烟"]


def test_a_plain_card_in_full() -> None:
    card = worst_card() | {"bp": None, "glucose": None, "home": {"temperature_c": 23.4, "smoke": False,
                                                                  "fire_alarm": False},
                           "power": {"mains": "ok", "battery": "unknown"}}
    card["last_motion"]["room"] = "客厅"
    card["resident"]["address_ref"] = "B3-1202"
    text = short_form("alarm.inactivity", {"context": card}, "5f3a9c21-aaaa", T, "demo-0001", "R-0042")
    # the reply code (回复1#5f3a) leaves room for the temperature but not for the last motion
    assert text == "【一键呼】长时间无活动 R-0042 10:15 终端demo-0001 #5f3a9c21 询问无应答 温23℃ 回复1#5f3a确认"
    assert len(text) + len(" 动:客厅10:02") > SMS_MAX_CHARS
    shorter = short_form("alarm.fall", {"context": card}, "5f3a9c21-aaaa", T, "h-1", "R-42")
    assert shorter == "【一键呼】跌倒 R-42 10:15 终端h-1 #5f3a9c21 询问无应答 动:客厅10:02 温23℃ 回复1#5f3a确认"


def test_a_call_soon_after_a_fall_names_the_fall(monkeypatch: pytest.MonkeyPatch) -> None:
    """She answered "没事" to the fall question, then pressed the health button: before, the operator saw a
    health call and nothing of the fall 20 s earlier."""
    clock = [1000.0]
    monkeypatch.setattr("hub.alarms.card.time.monotonic", lambda: clock[0])
    card = make_card()
    assert card.card("call.raised", DATA["call.raised"])["recent_fall"] is None
    cancelled = Event("fall.cancelled", {"waited_s": 4.0}, T)
    card.on_event(cancelled)
    clock[0] += 20.0
    c = card.card("call.raised", DATA["call.raised"])
    assert c["recent_fall"] == {"type": "fall.cancelled", "id": cancelled.id,
                                "at": T.isoformat(timespec="milliseconds"), "s_before": 20.0}
    schema = json.loads((SCHEMAS / "call.raised.json").read_text())["properties"]["data"]["properties"]["context"]
    Draft202012Validator(schema).validate(c)
    clock[0] += 1800.0  # half an hour later it is another matter
    assert card.card("call.raised", DATA["call.raised"])["recent_fall"] is None


def test_the_console_line_of_such_a_call_says_so() -> None:
    from hub.cli.event_lines import describe

    fall = {"type": "fall.cancelled", "id": "f", "at": "2026-12-07T10:00:00.000+08:00", "s_before": 20.0}
    body = {"v": 1, "id": "c1", "hub": "demo-0001", "type": "call.raised", "ts": "2026-12-07T10:00:20.000+08:00",
            "seq": 3, "data": {**DATA["call.raised"], "kind": "health", "button": 22,
                               "context": {**worst_card(), "recent_fall": fall}}}
    line = describe("eldercare/v1/demo-0001/event/call", body)
    assert "⚠ 20 秒前 s before: 摔倒询问答了没事 said she was fine after a fall" in line, line
    body["data"]["context"]["recent_fall"] = None
    assert "摔倒" not in describe("eldercare/v1/demo-0001/event/call", body)
