"""Blood Pressure Measurement 0x2A35 (indicated) and Intermediate Cuff Pressure 0x2A36 (same layout).

Flags (byte 0): bit0 unit kPa (else mmHg), bit1 time stamp, bit2 pulse rate, bit3 user id,
bit4 measurement status. Then systolic, diastolic, mean arterial pressure (SFLOAT each), the optional
fields in that order. Bits 5-7 are reserved in BPS 1.0; later revisions append fields after the status,
so trailing bytes are tolerated and ignored rather than rejecting a newer meter's reading.

Meters that bend the format are decoded through a quirk profile (`sensors/meters/profiles.toml`):
`big_endian` names fields sent most-significant byte first, `infer_user_id` reads a user-ID byte the
flags do not announce when the value is exactly one byte longer than the flags say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.ble import Reader
from drivers.ble.sfloat import Number, Special, decode_sfloat, encode_sfloat, finite, to_json
from drivers.ble.time import DateTime, read_date_time

FLAG_KPA = 0x01
FLAG_TIMESTAMP = 0x02
FLAG_PULSE = 0x04
FLAG_USER_ID = 0x08
FLAG_STATUS = 0x10
MMHG_PER_KPA = 7.500617  # 1 kPa = 1000 Pa / 133.322387 Pa per mmHg
USER_UNKNOWN = 0xFF
PULSE_RANGES = ("in_range", "above_upper_limit", "below_lower_limit", "reserved")


@dataclass(frozen=True)
class BpStatus:
    raw: int

    def to_json(self) -> dict[str, Any]:
        return {
            "body_movement": bool(self.raw & 0x01),
            "cuff_too_loose": bool(self.raw & 0x02),
            "irregular_pulse": bool(self.raw & 0x04),
            "pulse_rate_range": PULSE_RANGES[(self.raw >> 3) & 0x03],
            "improper_position": bool(self.raw & 0x20),
        }


@dataclass(frozen=True)
class BloodPressureMeasurement:
    flags: int
    systolic: Number
    diastolic: Number
    mean_arterial: Number
    timestamp: DateTime | None = None
    pulse: Number | None = None
    user_id: int | None = None
    status: BpStatus | None = None

    @property
    def unit(self) -> str:
        return "kPa" if self.flags & FLAG_KPA else "mmHg"

    def mmhg(self, value: Number | None) -> float | None:
        """A pressure in mmHg (one decimal), None for NaN/NRes/INF or absent."""
        number = finite(value)
        if number is None:
            return None
        return round(number * MMHG_PER_KPA, 1) if self.flags & FLAG_KPA else number

    def to_json(self) -> dict[str, Any]:
        out = {
            "systolic": to_json(self.systolic),
            "diastolic": to_json(self.diastolic),
            "mean_arterial": to_json(self.mean_arterial),
            "unit": self.unit,
            "timestamp": self.timestamp.iso() if self.timestamp else None,
            "pulse": to_json(self.pulse),
            "user_id": self.user_id,
            "status": self.status.to_json() if self.status else None,
        }
        if self.timestamp is not None and self.timestamp.problem is not None:
            out["time_problem"] = self.timestamp.problem
        return out


def expected_length(flags: int) -> int:
    """Bytes a value with these flags carries (BPS 1.0 fields)."""
    return (
        7
        + (7 if flags & FLAG_TIMESTAMP else 0)
        + (2 if flags & FLAG_PULSE else 0)
        + (1 if flags & FLAG_USER_ID else 0)
        + (2 if flags & FLAG_STATUS else 0)
    )


def decode_measurement(
    data: bytes | bytearray,
    name: str = "Blood Pressure Measurement 0x2A35",
    *,
    big_endian: frozenset[str] = frozenset(),
    infer_user_id: bool = False,
) -> BloodPressureMeasurement:
    r = Reader(data, name, big_endian)
    flags = r.u8("flags")
    if infer_user_id and not flags & FLAG_USER_ID and len(r.data) == expected_length(flags) + 1:
        flags |= FLAG_USER_ID  # the byte is there, the flag is not: read it where the spec puts it
    systolic = decode_sfloat(r.word_le("systolic"))
    diastolic = decode_sfloat(r.word_le("diastolic"))
    mean = decode_sfloat(r.word_le("mean_arterial"))
    stamp = read_date_time(r, "timestamp") if flags & FLAG_TIMESTAMP else None
    pulse = decode_sfloat(r.word_le("pulse")) if flags & FLAG_PULSE else None
    user = r.u8("user_id") if flags & FLAG_USER_ID else None
    status = BpStatus(r.u16("status")) if flags & FLAG_STATUS else None
    return BloodPressureMeasurement(flags, systolic, diastolic, mean, stamp, pulse, user, status)


def encode_measurement(
    systolic: float | Special,
    diastolic: float | Special,
    mean_arterial: float | Special | None = None,
    *,
    kpa: bool = False,
    timestamp: datetime | DateTime | None = None,
    pulse: float | None = None,
    user_id: int | None = None,
    status: int | None = None,
) -> bytes:
    """The bytes a meter sends; MAP defaults to the usual DBP + (SBP - DBP) / 3 estimate."""
    if mean_arterial is None:
        if isinstance(systolic, Special) or isinstance(diastolic, Special):
            mean_arterial = Special.NAN
        else:
            mean_arterial = round(diastolic + (systolic - diastolic) / 3, 1 if kpa else 0)
    exp = -1 if kpa else 0
    flags = (
        (FLAG_KPA if kpa else 0)
        | (FLAG_TIMESTAMP if timestamp is not None else 0)
        | (FLAG_PULSE if pulse is not None else 0)
        | (FLAG_USER_ID if user_id is not None else 0)
        | (FLAG_STATUS if status is not None else 0)
    )
    out = bytes([flags]) + b"".join(
        encode_sfloat(v, None if isinstance(v, Special) else exp)
        for v in (systolic, diastolic, mean_arterial)
    )
    if timestamp is not None:
        stamp = timestamp if isinstance(timestamp, DateTime) else DateTime.from_datetime(timestamp)
        out += stamp.encode()
    if pulse is not None:
        out += encode_sfloat(pulse, 0)
    if user_id is not None:
        out += bytes([user_id])
    if status is not None:
        out += status.to_bytes(2, "little")
    return out
