"""`hub ble decode CHARACTERISTIC HEX [--profile ID]`: the characteristic by name or UUID (never guessed
from the value's length), decoded with the parsers the hub uses, optionally as a quirk profile would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# 16-bit UUID -> names (the first is the short one used in messages).
CHARACTERISTICS: dict[int, tuple[str, ...]] = {
    0x2A35: ("bp", "blood_pressure_measurement"),
    0x2A36: ("cuff", "intermediate_cuff_pressure"),
    0x2A18: ("glucose", "glucose_measurement"),
    0x2A34: ("context", "glucose_measurement_context"),
    0x2A52: ("racp", "record_access_control_point"),
    0x2A08: ("date_time",),
    0x2A0A: ("day_date_time",),
    0x2A2B: ("current_time",),
    0x2A49: ("bp_feature", "blood_pressure_feature"),
    0x2A51: ("glucose_feature",),
}


def characteristic(text: str) -> int:
    """A name or a UUID (2a35, 0x2A35, 00002a35-0000-1000-8000-00805f9b34fb) -> the 16-bit UUID."""
    key = text.strip().lower().replace("-", "_")
    for short, names in CHARACTERISTICS.items():
        if key in names:
            return short
    digits = key.removeprefix("0x")
    if digits.endswith("_0000_1000_8000_00805f9b34fb") and len(digits) == 36:
        digits = digits[4:8]
    try:
        short = int(digits, 16) if len(digits) == 4 else -1
    except ValueError:
        short = -1
    if short not in CHARACTERISTICS:
        known = ", ".join(names[0] for names in CHARACTERISTICS.values())
        raise ValueError(f"unknown characteristic {text!r}; give a name ({known}) or its UUID, e.g. 2a35")
    return short


def _decoder(short: int, profile_id: str | None) -> Callable[[bytes], dict[str, Any]]:
    from drivers.ble import bps, features, gls, gls_context, racp
    from drivers.ble import time as t

    big: frozenset[str] = frozenset()
    infer = False
    if profile_id is not None:
        from sensors.meters.profiles import table

        found = {p.id: p for p in table()}
        if profile_id not in found:
            raise ValueError(f"no quirk profile {profile_id!r}; known: {', '.join(found)}")
        big, infer = found[profile_id].big_endian, "user_id" in found[profile_id].infer_from_length

    table_ = {
        0x2A35: lambda b: bps.decode_measurement(b, big_endian=big, infer_user_id=infer).to_json(),
        0x2A36: lambda b: bps.decode_measurement(b, "Intermediate Cuff Pressure 0x2A36", big_endian=big).to_json(),
        0x2A18: lambda b: gls.decode_measurement(b, big_endian=big).to_json(),
        0x2A34: lambda b: gls_context.decode_context(b).to_json(),
        0x2A52: lambda b: racp.decode(b).to_json(),
        0x2A08: lambda b: t.CurrentTime(t.decode_date_time(b), 0).to_json(),
        0x2A0A: lambda b: t.decode_day_date_time(b).to_json(),
        0x2A2B: lambda b: t.decode_current_time(b).to_json(),
        0x2A49: lambda b: features.decode_bp_feature(b).to_json(),
        0x2A51: lambda b: features.decode_glucose_feature(b).to_json(),
    }
    return table_[short]


def decode_value(name: str, text: str, profile: str | None = None) -> dict[str, Any]:
    """Raises ValueError (MalformedValue names field and byte) for a bad name, bad hex or a bad value."""
    from drivers.ble import parse_hex

    return _decoder(characteristic(name), profile)(parse_hex(text))
