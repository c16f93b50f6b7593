"""Blood Pressure Measurement (0x2A35) byte tables: every flag combination, public captures (Nordic
Android-BLE-Common-Library test vectors), malformed values naming field and byte."""

from __future__ import annotations

import pytest
from ble_values import BP_KEYS, STAMP

from drivers.ble import MalformedValue, bps, parse_hex


@pytest.mark.parametrize("flags", range(32))
def test_bp_every_flag_combination(flags: int) -> None:
    value = bytes([flags]) + bytes.fromhex("b900 7000 8800".replace(" ", ""))
    if flags & 0x02:
        value += STAMP
    if flags & 0x04:
        value += bytes.fromhex("4800")
    if flags & 0x08:
        value += b"\x02"
    if flags & 0x10:
        value += (0b00001101).to_bytes(2, "little")
    m = bps.decode_measurement(value)
    out = m.to_json()
    assert (out["systolic"], out["diastolic"], out["mean_arterial"]) == (185, 112, 136)
    assert out["unit"] == ("kPa" if flags & 1 else "mmHg")
    assert out["timestamp"] == ("2024-05-06T08:09:30" if flags & 2 else None)
    assert out["pulse"] == (72 if flags & 4 else None)
    assert out["user_id"] == (2 if flags & 8 else None)
    if flags & 0x10:
        assert out["status"] == {
            "body_movement": True,
            "cuff_too_loose": False,
            "irregular_pulse": True,
            "pulse_rate_range": "above_upper_limit",
            "improper_position": False,
        }
    else:
        assert out["status"] is None
    assert set(out) == set(BP_KEYS)
    if flags & 1:
        assert m.mmhg(m.systolic) == pytest.approx(185 * 7.500617, abs=0.05)
    with pytest.raises(MalformedValue):
        bps.decode_measurement(value[:-1]) if flags & 0x1E else bps.decode_measurement(value[:6])


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # Nordic Android-BLE-Common-Library BloodPressureMeasurementDataCallbackTest vectors
        (
            "1E8A0058007800000004111429 3B3C0001 2700",
            {
                "systolic": 138,
                "diastolic": 88,
                "mean_arterial": 120,
                "unit": "mmHg",
                "timestamp": None,
                "pulse": 60,
                "user_id": 1,
                "status": {
                    "body_movement": True,
                    "cuff_too_loose": True,
                    "irregular_pulse": True,
                    "pulse_rate_range": "in_range",
                    "improper_position": True,
                },
            },
        ),
        (
            "15BDF00B009FF03C001200",
            {
                "systolic": 18.9,
                "diastolic": 11,
                "mean_arterial": 15.9,
                "unit": "kPa",
                "timestamp": None,
                "pulse": 60,
                "user_id": None,
                "status": {
                    "body_movement": False,
                    "cuff_too_loose": True,
                    "irregular_pulse": False,
                    "pulse_rate_range": "below_lower_limit",
                    "improper_position": False,
                },
            },
        ),
        (
            "00BDF00B009FF0",
            {
                "systolic": 18.9,
                "diastolic": 11,
                "mean_arterial": 15.9,
                "unit": "mmHg",
                "timestamp": None,
                "pulse": None,
                "user_id": None,
                "status": None,
            },
        ),
        (
            "00FF070008FE07",
            {
                "systolic": "NaN",
                "diastolic": "NRes",
                "mean_arterial": "+INF",
                "unit": "mmHg",
                "timestamp": None,
                "pulse": None,
                "user_id": None,
                "status": None,
            },
        ),
    ],
)
def test_bp_public_captures(hex_value: str, expected: dict[str, object]) -> None:
    assert bps.decode_measurement(parse_hex(hex_value)).to_json() == expected


@pytest.mark.parametrize(
    ("value", "field", "offset"),
    [
        (bytes.fromhex("010203040506"), "mean_arterial", 5),  # Nordic "too short"
        (bytes.fromhex("03020304050607"), "timestamp.year", 7),  # Nordic "no timestamp"
    ],
)
def test_bp_malformed_names_field_and_byte(value: bytes, field: str, offset: int) -> None:
    with pytest.raises(MalformedValue) as err:
        bps.decode_measurement(value)
    assert (err.value.field, err.value.offset) == (field, offset)
    assert field in str(err.value) and f"byte {offset}" in str(err.value)


# Issue 12: a bad clock byte keeps the reading (was: MalformedValue for the whole measurement).
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("02b90070008800e8070d0608091e", "timestamp.month 13 outside 0..12 at byte 9"),
        ("02b90070008800e807021e08091e", "timestamp not a calendar date"),  # 30 February
        ("02b9007000880001000506 08091e", "timestamp.year 1 outside 1582..9999"),
        ("02b90070008800e807050608631e", "timestamp.minutes 99 outside 0..59 at byte 12"),
    ],
)
def test_bp_bad_clock_keeps_the_reading(value: str, problem: str) -> None:
    m = bps.decode_measurement(parse_hex(value))
    assert (m.to_json()["systolic"], m.to_json()["diastolic"]) == (185, 112)
    assert m.timestamp is not None and m.timestamp.status == "invalid" and m.timestamp.to_datetime() is None
    assert problem in m.to_json()["time_problem"]
