"""Record Access Control Point (0x2A52) requests and responses, the GATT time formats, and any bytes
through every decoder: a value or a ValueError, nothing else."""

from __future__ import annotations

import contextlib
from datetime import datetime

import pytest
from ble_values import STAMP
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble import MalformedValue, bps, gls, gls_context, racp
from drivers.ble.time import decode_current_time, decode_date_time, decode_day_date_time, encode_current_time


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
    assert decode_day_date_time(STAMP + b"\x01").to_json()["day_of_week"] == "monday"
    assert decode_current_time(encode_current_time(now)).to_json()["adjust_reason"]["manual_time_update"] is True
    with pytest.raises(MalformedValue):
        decode_date_time(b"\x00" * 5)


# Issue 12: a clock field out of range, a reserved day of week or trailing bytes no longer reject the
# value (was: MalformedValue naming the field); the stamp says what is wrong and is not a time.
@pytest.mark.parametrize(
    ("value", "decoder", "problem", "dow"),
    [
        (STAMP + b"\x08", decode_day_date_time, None, "reserved_8"),  # reserved day of week
        (STAMP + b"\x01\x00\x01" + b"\xaa\xbb", decode_current_time, None, "monday"),  # trailing bytes
        (STAMP + b"\xff\x00\x01", decode_current_time, None, "reserved_255"),
        (b"\x10\x05" + STAMP[2:] + b"\x01", decode_day_date_time, "date_time.year 1296 outside", "monday"),
        (STAMP[:6] + b"\x3c" + b"\x01\x00\x01", decode_current_time, "seconds 60 outside 0..59 at byte 6",
         "monday"),
        (bytes.fromhex("e807021e08091e") + b"\x05", decode_day_date_time, "not a calendar date", "friday"),
    ],
)
def test_time_values_are_tolerated(value: bytes, decoder: object, problem: str | None, dow: str) -> None:
    out = decoder(value).to_json()  # type: ignore[operator]
    assert out["day_of_week"] == dow
    if problem is None:
        assert out["valid"] is True and out["timestamp"] == "2024-05-06T08:09:30"
    else:
        assert out["valid"] is False and out["timestamp"] is None and problem in out["problem"]
    assert decode_date_time(value[:7] + b"\x00\x00").status == ("ok" if problem is None else "invalid")


DECODERS = [
    bps.decode_measurement,
    gls.decode_measurement,
    gls_context.decode_context,
    racp.decode_response,
    racp.decode,
    decode_date_time,
    decode_day_date_time,
    decode_current_time,
]


@given(st.binary(max_size=40), st.sampled_from(DECODERS))
def test_any_bytes_decode_or_raise_value_error(data: bytes, decoder: object) -> None:
    with contextlib.suppress(ValueError):  # anything else (IndexError, struct.error...) fails the test
        decoder(data)  # type: ignore[operator]
