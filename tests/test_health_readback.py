"""What the resident hears after a measurement: the numbers and the grade in plain words, only for a
reading just taken (a meter's stored history is sent without a word)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.health.readback import readback
from voice.catalogue import prompt

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def bp(grade: str | None, taken: datetime | None) -> dict[str, object]:
    return {"systolic": 135.0, "diastolic": 85.0, "grade": grade, "time_source": "meter" if taken else "hub",
            "meter_time": taken.isoformat() if taken else None}


def test_blood_pressure_with_its_grade() -> None:
    key, fields = readback("measurement.blood_pressure", bp("high_normal", NOW - timedelta(minutes=1)), NOW) or ("", {})
    assert key == "health_bp_reading" and prompt(key).text("zh", **fields) == "血压135，85，正常高值"
    assert prompt(key).text("en", **fields) == "Blood pressure 135 over 85: high normal."


def test_glucose_value_and_hi() -> None:
    data = {"mmol_per_l": 6.1, "category": "normal", "time_source": "hub", "meter_time": None}
    key, fields = readback("measurement.glucose", data, NOW) or ("", {})
    assert prompt(key).text("zh", **fields) == "血糖6.1，正常"
    hi = {**data, "mmol_per_l": None, "category": "dangerous"}
    key, fields = readback("measurement.glucose", hi, NOW) or ("", {})
    assert prompt(key).text("zh", **fields) == "血糖超出了测量范围，很高"


def test_old_or_ungraded_readings_are_not_read_out() -> None:
    assert readback("measurement.blood_pressure", bp("normal", NOW - timedelta(hours=3)), NOW) is None
    assert readback("measurement.blood_pressure", bp(None, None), NOW) is None  # implausible: not graded
    assert readback("measurement.ketone", {"mmol_per_l": 0.4, "time_source": "hub"}, NOW) is None
