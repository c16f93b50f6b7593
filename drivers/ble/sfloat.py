"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit), the number formats of the health profiles.

SFLOAT: 4-bit signed exponent, 12-bit signed mantissa, value = mantissa * 10**exponent. With exponent 0
five mantissas are reserved for special values (NaN, NRes "not at this resolution", +INF, -INF and one
reserved code). FLOAT is the same with an 8-bit exponent and 24-bit mantissa. Decoding goes through
Decimal so 189e-1 comes out as 18.9, not 18.900000000000002.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Special(StrEnum):
    NAN = "NaN"
    NRES = "NRes"
    POS_INF = "+INF"
    NEG_INF = "-INF"
    RESERVED = "reserved"


Number = float | Special

SFLOAT_SPECIALS = {
    0x07FF: Special.NAN,
    0x0800: Special.NRES,
    0x07FE: Special.POS_INF,
    0x0802: Special.NEG_INF,
    0x0801: Special.RESERVED,
}
FLOAT_SPECIALS = {
    0x007FFFFF: Special.NAN,
    0x00800000: Special.NRES,
    0x007FFFFE: Special.POS_INF,
    0x00800002: Special.NEG_INF,
    0x00800001: Special.RESERVED,
}
_SFLOAT_CODE = {v: k for k, v in SFLOAT_SPECIALS.items()}
_FLOAT_CODE = {v: k for k, v in FLOAT_SPECIALS.items()}
SFLOAT_MANTISSA_MAX = 0x07FD  # 2045: 2046/2047 and -2048..-2046 are the special codes at exponent 0
FLOAT_MANTISSA_MAX = 0x7FFFFD


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _scaled(mantissa: int, exponent: int) -> float:
    return float(Decimal(mantissa).scaleb(exponent))


def decode_sfloat(raw: bytes | int) -> Number:
    word = int.from_bytes(raw, "little") if isinstance(raw, bytes | bytearray) else raw
    if not 0 <= word <= 0xFFFF:
        raise ValueError(f"SFLOAT must be 16 bits, got {word:#x}")
    if word in SFLOAT_SPECIALS:
        return SFLOAT_SPECIALS[word]
    return _scaled(_signed(word & 0x0FFF, 12), _signed(word >> 12, 4))


def decode_float(raw: bytes | int) -> Number:
    word = int.from_bytes(raw, "little") if isinstance(raw, bytes | bytearray) else raw
    if not 0 <= word <= 0xFFFFFFFF:
        raise ValueError(f"FLOAT must be 32 bits, got {word:#x}")
    if word in FLOAT_SPECIALS:
        return FLOAT_SPECIALS[word]
    return _scaled(_signed(word & 0xFFFFFF, 24), _signed(word >> 24, 8))


def _pick(value: float, exponent: int | None, lo: int, hi: int, mant_max: int) -> tuple[int, int]:
    # Exponent 0 first, then finer, then coarser: 120 mmHg goes out as 120e0 the way meters send it.
    order = [exponent] if exponent is not None else [*range(0, lo - 1, -1), *range(1, hi + 1)]
    exact = Decimal(repr(float(value)))
    fits: list[tuple[int, int]] = []
    for e in order:
        if not lo <= e <= hi:
            raise ValueError(f"exponent {e} outside {lo}..{hi}")
        m = int(exact.scaleb(-e).to_integral_value())
        if abs(m) > mant_max:
            continue
        if Decimal(m).scaleb(e) == exact:
            return m, e
        fits.append((m, e))
    if not fits:
        raise ValueError(f"{value} does not fit the mantissa (max {mant_max}) at exponent(s) {order}")
    return min(fits, key=lambda me: me[1])  # not exact anywhere: keep the most precision


def encode_sfloat(value: float | Special, exponent: int | None = None) -> bytes:
    if isinstance(value, Special):
        return _SFLOAT_CODE[value].to_bytes(2, "little")
    m, e = _pick(value, exponent, -8, 7, SFLOAT_MANTISSA_MAX)
    return (((e & 0xF) << 12) | (m & 0x0FFF)).to_bytes(2, "little")


def encode_float(value: float | Special, exponent: int | None = None) -> bytes:
    if isinstance(value, Special):
        return _FLOAT_CODE[value].to_bytes(4, "little")
    m, e = _pick(value, exponent, -128, 127, FLOAT_MANTISSA_MAX)
    return (((e & 0xFF) << 24) | (m & 0xFFFFFF)).to_bytes(4, "little")


def to_json(value: Number | None) -> float | int | str | None:
    """Specials as their names ("NaN", "NRes", "+INF", "-INF", "reserved"); whole numbers as int."""
    if value is None:
        return None
    if isinstance(value, Special):
        return value.value
    return int(value) if value == int(value) else value


def finite(value: Number | None) -> float | None:
    return None if value is None or isinstance(value, Special) else value
