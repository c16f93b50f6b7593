"""Bluetooth meters end to end: `hub sim bp|glucose` on a simulated hub, graded events on a real mosquitto.

The simulated meters deliver through the virtual BLE backend the hub's meter coordinator scans and
connects with (the same radio carries the simulated fall wearable), so these runs cover advertising,
GATT indications/RACP, decoding, grading, the outbox and the uplink.
"""

from __future__ import annotations

import pytest
from schemas import assert_valid
from support import online_hub, round_trip, spoken_keys

pytestmark = pytest.mark.timeout(120)

VOICE_OFF = "[voice]\nenabled = false\n"  # prompts are recorded at once, nothing is rendered


@pytest.fixture
def env(make_hub, subscriber):
    return online_hub(make_hub, subscriber, VOICE_OFF)


def test_bp_185_112_is_grade_3_with_an_alert(env):
    hub, sub = env
    out = hub.cli("sim", "bp", "185", "112", "--pulse", "88")
    assert out.returncode == 0, out.stderr
    measurement = sub.wait_event("measurement.blood_pressure", 15)
    assert measurement, hub.log_tail()
    assert_valid(measurement)
    data = measurement["data"]
    assert (data["systolic"], data["diastolic"], data["pulse"]) == (185, 112, 88)
    assert data["grade"] == "grade_3" and data["isolated_systolic"] is False and data["referral"] is True
    assert data["unit"] == "mmHg" and data["time_status"] == "ok"
    alert = sub.wait_event("health.alert", 5)
    assert alert, hub.log_tail()
    assert_valid(alert)
    assert alert["data"]["kind"] == "blood_pressure" and alert["data"]["reason"] == "bp_grade_3"
    assert alert["data"]["measurement_id"] == measurement["id"]
    assert alert["data"]["values"] == {"systolic": 185, "diastolic": 112, "grade": "grade_3"}
    assert "health_bp_very_high" in spoken_keys(hub)
    assert len(sub.events("measurement.blood_pressure")) == 1  # delivered once, not again on reconnect


def test_glucose_2_8_fasting_is_severe_hypo_with_an_alert(env):
    hub, sub = env
    out = hub.sim("glucose", "2.8", "--meal", "fasting")
    assert out["sequence"] == 1
    measurement = sub.wait_event("measurement.glucose", 15)
    assert measurement, hub.log_tail()
    assert_valid(measurement)
    data = measurement["data"]
    assert data["category"] == "hypo_severe" and data["meal"] == "fasting" and data["referral"] is True
    assert data["mmol_per_l"] == pytest.approx(2.8, abs=0.05) and data["sequence"] == 1
    alert = sub.wait_event("health.alert", 5)
    assert alert, hub.log_tail()
    assert_valid(alert)
    assert alert["data"]["kind"] == "glucose" and alert["data"]["reason"] == "glucose_low"
    assert alert["data"]["values"]["category"] == "hypo_severe"
    assert alert["data"]["measurement_id"] == measurement["id"]
    assert "health_glucose_low" in spoken_keys(hub)


def test_normal_readings_are_graded_without_an_alert(env):
    hub, sub = env
    hub.sim("bp", "118", "76")
    hub.sim("glucose", "5.6", "--meal", "fasting")
    bp = sub.wait_event("measurement.blood_pressure", 15)
    glucose = sub.wait_event("measurement.glucose", 15)
    assert bp and glucose, hub.log_tail()
    assert_valid(bp)
    assert_valid(glucose)
    assert bp["data"]["grade"] == "normal" and bp["data"]["referral"] is False
    assert glucose["data"]["category"] == "normal" and glucose["data"]["referral"] is False
    round_trip(sub)  # an alert goes out right after its measurement: it would have reached us first
    assert sub.events("health.alert") == []
    assert not {"health_bp_very_high", "health_glucose_low", "health_glucose_very_high"} & set(spoken_keys(hub))
