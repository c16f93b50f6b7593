"""Glucose Measurement (0x2A18) and its Context (0x2A34) byte tables: every flag combination, a public
capture (Nordic Android-BLE-Common-Library) and its invalid twin, type/location and meal names."""

from __future__ import annotations

from datetime import datetime

import pytest
from ble_values import STAMP

from drivers.ble import MalformedValue, gls, gls_context
from drivers.ble.sfloat import encode_sfloat


@pytest.mark.parametrize("flags", range(32))
def test_glucose_every_flag_combination(flags: int) -> None:
    value = bytes([flags]) + (7).to_bytes(2, "little") + STAMP
    if flags & 0x01:
        value += (-90).to_bytes(2, "little", signed=True)
    if flags & 0x02:
        value += encode_sfloat(0.0056 if flags & 0x04 else 0.0001) + bytes([0x12])
    if flags & 0x08:
        value += (0x0105).to_bytes(2, "little")
    m = gls.decode_measurement(value)
    out = m.to_json()
    assert out["sequence"] == 7 and out["context_follows"] == bool(flags & 0x10)
    assert out["time_offset_min"] == (-90 if flags & 1 else None)
    assert out["timestamp"] == ("2024-05-06T06:39:30" if flags & 1 else "2024-05-06T08:09:30")
    if flags & 0x02:
        assert (out["type"], out["location"]) == ("capillary_plasma", "finger")
        if flags & 0x04:
            assert (out["unit"], out["concentration"], out["mmol_per_l"]) == ("mol/L", 0.0056, 5.6)
            assert m.mmol_per_l == 5.6
        else:
            assert (out["unit"], out["mg_per_dl"]) == ("kg/L", 10)
            assert m.mmol_per_l == pytest.approx(10 / 18.016, abs=0.01)
    else:
        assert out["concentration"] is None and out["unit"] is None and m.mmol_per_l is None
        assert "mg_per_dl" not in out and "mmol_per_l" not in out
    if flags & 0x08:
        assert m.status_names() == ["device_battery_low", "sample_size_insufficient", "temperature_too_low"]
    else:
        assert out["sensor_status"] is None
    assert {
        "sequence",
        "timestamp",
        "time_offset_min",
        "concentration",
        "unit",
        "type",
        "location",
        "sensor_status",
        "context_follows",
    } <= set(out)


def test_glucose_public_capture_and_its_invalid_twin() -> None:
    # Nordic GlucoseMeasurementDataCallbackTest: 30 kg/L, offset -5 min, status 261, context follows
    m = gls.decode_measurement(
        bytes([0b011011, 1, 0, 0xE3, 0x07, 2, 27, 11, 10, 30, 0xFB, 0xFF, 30, 0, 0x12, 0b101, 0b1])
    )
    assert (m.sequence, m.time(), m.concentration, m.unit, m.sensor_status, m.context_follows) == (
        1,
        datetime(2019, 2, 27, 11, 5, 30),
        30.0,
        "kg/L",
        261,
        True,
    )
    with pytest.raises(MalformedValue) as err:  # same flags, time offset missing
        gls.decode_measurement(bytes([0b011011, 0, 0, 0xE2, 0x07, 4, 26, 11, 9, 30, 30, 0, 0x12, 0b101, 0b1]))
    assert err.value.field == "sensor_status"


@pytest.mark.parametrize(
    ("type_loc", "type_", "location", "control"),
    [
        (0x11, "capillary_whole_blood", "finger", False),
        (0x22, "capillary_plasma", "alternate_site_test", False),
        (0x33, "venous_whole_blood", "earlobe", False),
        (0x49, "interstitial_fluid", "control_solution", True),
        (0xFA, "control_solution", "not_available", True),
        (0x5B, "reserved_11", "reserved_5", False),
    ],
)
def test_glucose_type_is_the_low_nibble(type_loc: int, type_: str, location: str, control: bool) -> None:
    m = gls.decode_measurement(bytes([0x06, 1, 0]) + STAMP + encode_sfloat(0.0056) + bytes([type_loc]))
    assert (m.type, m.location, m.is_control_solution) == (type_, location, control)


@pytest.mark.parametrize(
    "flags", [f for f in range(256) if f & 0x7F in (0, 0x02, 0x05, 0x1F, 0x7F, 0x42, 0x24)]
)
def test_context_flag_combinations(flags: int) -> None:
    value = bytes([flags]) + (3).to_bytes(2, "little")
    if flags & 0x80:
        value += b"\x00"
    if flags & 0x01:
        value += b"\x03" + encode_sfloat(0.05)
    if flags & 0x02:
        value += b"\x03"
    if flags & 0x04:
        value += b"\x12"
    if flags & 0x08:
        value += (3600).to_bytes(2, "little") + b"\x32"
    if flags & 0x10:
        value += b"\x04" + encode_sfloat(0.012)
    if flags & 0x40:
        value += encode_sfloat(6.5)
    c = gls_context.decode_context(value).to_json()
    assert c["sequence"] == 3
    assert c["meal"] == ("fasting" if flags & 0x02 else None)
    assert (c["tester"], c["health"]) == (
        ("health_care_professional", "minor_health_issues") if flags & 4 else (None, None)
    )
    assert c["carbohydrate"] == ("dinner" if flags & 1 else None)
    assert c["exercise_duration_s"] == (3600 if flags & 8 else None)
    assert c["medication"] == ("long_acting_insulin" if flags & 0x10 else None)
    assert c["medication_unit"] == (("L" if flags & 0x20 else "kg") if flags & 0x10 else None)
    assert c["hba1c_pct"] == (6.5 if flags & 0x40 else None)
    with pytest.raises(MalformedValue):
        gls_context.decode_context(value[:-1] if len(value) > 3 else value[:2])


@pytest.mark.parametrize(
    ("meal_code", "meal"),
    [(1, "before"), (2, "after"), (3, "fasting"), (4, "casual"), (5, "bedtime"), (9, "reserved_9")],
)
def test_context_meal_names(meal_code: int, meal: str) -> None:
    assert gls_context.decode_context(bytes([0x02, 1, 0, meal_code])).meal == meal
