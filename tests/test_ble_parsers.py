"""Byte tables for the GATT formats: every flag combination, the spec's special values, public
captures (Nordic Android-BLE-Common-Library test vectors), malformed values naming field and byte."""

from __future__ import annotations

import contextlib
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble import MalformedValue, bps, gls, parse_hex, racp
from drivers.ble.sfloat import Special, decode_float, decode_sfloat, encode_float, encode_sfloat
from drivers.ble.time import decode_any_time, decode_current_time, decode_date_time, encode_current_time


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0x0078, 120.0),
        (0xF0BD, 18.9),
        (0x000B, 11.0),
        (0xF09F, 15.9),
        (0x003C, 60.0),
        (0xC038, 0.0056),
        (0xF038, 5.6),
        (0x0FFD, -3.0),
        (0x2001, 100.0),
        (0x8001, 1e-8),
        (0x07FF, Special.NAN),
        (0x0800, Special.NRES),
        (0x07FE, Special.POS_INF),
        (0x0802, Special.NEG_INF),
        (0x0801, Special.RESERVED),
        (0x17FF, 20470.0),
        (0x1800, -20480.0),
    ],
)
def test_sfloat_table(raw: int, value: float | Special) -> None:
    assert decode_sfloat(raw.to_bytes(2, "little")) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0x007FFFFF, Special.NAN),
        (0x00800000, Special.NRES),
        (0x007FFFFE, Special.POS_INF),
        (0x00800002, Special.NEG_INF),
        (0x00800001, Special.RESERVED),
        (0xFE003039, 123.45),
        (0x00FFFFFF, -1.0),
    ],
)
def test_float_table(raw: int, value: float | Special) -> None:
    assert decode_float(raw.to_bytes(4, "little")) == value


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_round_trip(mantissa: int, exponent: int) -> None:
    value = decode_sfloat(((exponent & 0xF) << 12) | (mantissa & 0xFFF))
    assert isinstance(value, float)
    assert decode_sfloat(encode_sfloat(value)) == value


@given(st.sampled_from(list(Special)))
def test_specials_round_trip(special: Special) -> None:
    assert decode_sfloat(encode_sfloat(special)) is special
    assert decode_float(encode_float(special)) is special


STAMP = bytes.fromhex("e807050608091e")  # 2024-05-06 08:09:30


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
    assert set(out) == {
        "systolic",
        "diastolic",
        "mean_arterial",
        "unit",
        "timestamp",
        "pulse",
        "user_id",
        "status",
    }
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
        (bytes.fromhex("02b90070008800e8070d0608091e"), "timestamp.month", 9),
        (bytes.fromhex("02b90070008800e807021e08091e"), "timestamp", 7),  # 30 February
        (bytes.fromhex("02b9007000880001000506 08091e".replace(" ", "")), "timestamp.year", 7),
    ],
)
def test_bp_malformed_names_field_and_byte(value: bytes, field: str, offset: int) -> None:
    with pytest.raises(MalformedValue) as err:
        bps.decode_measurement(value)
    assert (err.value.field, err.value.offset) == (field, offset)
    assert field in str(err.value) and f"byte {offset}" in str(err.value)


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
    c = gls.decode_context(value).to_json()
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
        gls.decode_context(value[:-1] if len(value) > 3 else value[:2])


@pytest.mark.parametrize(
    ("meal_code", "meal"),
    [(1, "before"), (2, "after"), (3, "fasting"), (4, "casual"), (5, "bedtime"), (9, "reserved_9")],
)
def test_context_meal_names(meal_code: int, meal: str) -> None:
    assert gls.decode_context(bytes([0x02, 1, 0, meal_code])).meal == meal


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (racp.report_all(), "0101"),
        (racp.report_from(4), "0103010400"),
        (racp.report_from(0x1234), "0103013412"),
        (racp.abort(), "0300"),
        (racp.report_number_all(), "0401"),
        (racp.response_code(1, 1), "06000101"),
        (racp.number_response(300), "05002c01"),
    ],
)
def test_racp_builders(built: bytes, wire: str) -> None:
    assert built.hex() == wire


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            "06000101",
            {"op_code": "response_code", "request_op_code": "report_stored_records", "response": "success"},
        ),
        (
            "06000106",
            {
                "op_code": "response_code",
                "request_op_code": "report_stored_records",
                "response": "no_records_found",
            },
        ),
        (
            "06000304",
            {
                "op_code": "response_code",
                "request_op_code": "abort_operation",
                "response": "operator_not_supported",
            },
        ),
        (
            "0600010f",
            {
                "op_code": "response_code",
                "request_op_code": "report_stored_records",
                "response": "reserved_15",
            },
        ),
        ("05000700", {"op_code": "number_of_stored_records_response", "count": 7}),
        (
            "0103010400",
            {
                "op_code": "report_stored_records",
                "operator": "greater_than_or_equal_to",
                "filter_type": "sequence_number",
                "operand": [4],
            },
        ),
        (
            "010401020005 00".replace(" ", ""),
            {
                "op_code": "report_stored_records",
                "operator": "within_range_of",
                "filter_type": "sequence_number",
                "operand": [2, 5],
            },
        ),
        (
            "0101",
            {
                "op_code": "report_stored_records",
                "operator": "all_records",
                "filter_type": None,
                "operand": [],
            },
        ),
    ],
)
def test_racp_decode(wire: str, expected: dict[str, object]) -> None:
    assert racp.decode(bytes.fromhex(wire)).to_json() == expected


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ("06", "operator"),
        ("060101", "operator"),
        ("0600", "request_op_code"),
        ("0500", "number_of_records"),
        ("0700", "op_code"),
    ],
)
def test_racp_malformed_response(wire: str, field: str) -> None:
    with pytest.raises(MalformedValue) as err:
        racp.decode_response(bytes.fromhex(wire))
    assert err.value.field == field


def test_time_formats() -> None:
    assert decode_date_time(STAMP).to_datetime() == datetime(2024, 5, 6, 8, 9, 30)
    assert decode_date_time(bytes(7)).to_datetime() is None  # year-0 clock: unknown, not an error
    now = datetime(2024, 5, 6, 8, 9, 30, 500000)
    ct = decode_current_time(encode_current_time(now))
    assert (ct.date_time.to_datetime(), ct.day_of_week, ct.fractions256, ct.adjust_reason) == (
        datetime(2024, 5, 6, 8, 9, 30),
        1,
        128,
        1,
    )
    assert decode_any_time(STAMP + b"\x01").to_json()["day_of_week"] == "monday"
    assert decode_any_time(encode_current_time(now)).to_json()["adjust_reason"]["manual_time_update"] is True
    for bad, field in (
        (STAMP + b"\x08", "day_of_week"),
        (b"\x10\x05" + STAMP[2:], "date_time.year"),
        (STAMP[:6] + b"\x3c", "date_time.seconds"),
        (STAMP + b"\x01\x00\x00\x00", "(end)"),
    ):
        with pytest.raises(MalformedValue) as err:
            decode_any_time(bad) if len(bad) != 11 else decode_current_time(bad)
        assert err.value.field == field
    with pytest.raises(MalformedValue):
        decode_any_time(b"\x00" * 5)


DECODERS = [
    bps.decode_measurement,
    gls.decode_measurement,
    gls.decode_context,
    racp.decode_response,
    racp.decode,
    decode_any_time,
]


@given(st.binary(max_size=40), st.sampled_from(DECODERS))
def test_any_bytes_decode_or_raise_value_error(data: bytes, decoder: object) -> None:
    with contextlib.suppress(ValueError):  # anything else (IndexError, struct.error...) fails the test
        decoder(data)  # type: ignore[operator]
