"""SFLOAT/FLOAT (IEEE 11073) byte tables: the spec's special values, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble.sfloat import Special, decode_float, decode_sfloat, encode_float, encode_sfloat


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
