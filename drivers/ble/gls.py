"""Glucose Measurement 0x2A18 (notified); the context that may follow it is drivers.ble.gls_context.

Measurement flags: bit0 time offset, bit1 concentration + type/sample location, bit2 unit mol/L (else
kg/L), bit3 sensor status annunciation, bit4 context information follows. Type is the low nibble of the
type/location byte, sample location the high nibble.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drivers.ble import Reader, code_name
from drivers.ble.sfloat import Number, decode_sfloat, encode_sfloat, finite, to_json
from drivers.ble.time import DateTime, read_date_time

FLAG_TIME_OFFSET = 0x01
FLAG_CONCENTRATION = 0x02
FLAG_MOL_PER_L = 0x04
FLAG_SENSOR_STATUS = 0x08
FLAG_CONTEXT_FOLLOWS = 0x10
MG_PER_DL_PER_MMOL_L = 18.016  # glucose molar mass 180.16 g/mol

TYPES = {
    1: "capillary_whole_blood",
    2: "capillary_plasma",
    3: "venous_whole_blood",
    4: "venous_plasma",
    5: "arterial_whole_blood",
    6: "arterial_plasma",
    7: "undetermined_whole_blood",
    8: "undetermined_plasma",
    9: "interstitial_fluid",
    10: "control_solution",
}
LOCATIONS = {1: "finger", 2: "alternate_site_test", 3: "earlobe", 4: "control_solution", 15: "not_available"}
SENSOR_STATUS = (
    "device_battery_low",
    "sensor_malfunction",
    "sample_size_insufficient",
    "strip_insertion_error",
    "strip_type_incorrect",
    "result_too_high",
    "result_too_low",
    "temperature_too_high",
    "temperature_too_low",
    "strip_pulled_too_soon",
    "general_device_fault",
    "time_fault",
)


@dataclass(frozen=True)
class GlucoseMeasurement:
    flags: int
    sequence: int
    base_time: DateTime
    time_offset_min: int | None = None
    concentration: Number | None = None
    type_code: int | None = None
    location_code: int | None = None
    sensor_status: int | None = None

    @property
    def unit(self) -> str | None:
        if not self.flags & FLAG_CONCENTRATION:
            return None
        return "mol/L" if self.flags & FLAG_MOL_PER_L else "kg/L"

    @property
    def context_follows(self) -> bool:
        return bool(self.flags & FLAG_CONTEXT_FOLLOWS)

    @property
    def type(self) -> str | None:
        return code_name(TYPES, self.type_code)

    @property
    def location(self) -> str | None:
        return code_name(LOCATIONS, self.location_code)

    @property
    def is_control_solution(self) -> bool:
        return self.type_code == 10 or self.location_code == 4

    @property
    def mmol_per_l(self) -> float | None:
        value = finite(self.concentration)
        if value is None:
            return None
        if self.flags & FLAG_MOL_PER_L:
            return round(value * 1000, 2)
        return round(value * 100_000 / MG_PER_DL_PER_MMOL_L, 2)

    def time(self, apply_offset: bool = True) -> datetime | None:
        """User-facing meter time: base time plus the offset (naive local meter time); None when the
        base is unset or invalid, or the sum leaves the calendar (9999-12-31 23:59 + 1 min)."""
        base = self.base_time.to_datetime()
        if base is None:
            return None
        try:
            return base + timedelta(minutes=(self.time_offset_min or 0) if apply_offset else 0)
        except OverflowError:
            return None

    @property
    def time_problem(self) -> str | None:
        """Why `time()` is None although the meter sent a stamp (None when fine or simply unset)."""
        if self.base_time.problem is not None:
            return self.base_time.problem
        if self.base_time.status == "ok" and self.time() is None:
            return f"base time + offset {self.time_offset_min} min is beyond year 9999"
        return None

    def status_names(self) -> list[str]:
        bits = self.sensor_status or 0
        return [n for i, n in enumerate(SENSOR_STATUS) if bits & (1 << i)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sequence": self.sequence,
            "timestamp": _iso(self.time()),
            "time_offset_min": self.time_offset_min,
            "concentration": to_json(self.concentration),
            "unit": self.unit,
        }
        value = finite(self.concentration)
        if self.unit == "kg/L":
            out["mg_per_dl"] = None if value is None else round(value * 100_000, 1)
        elif self.unit == "mol/L":
            out["mmol_per_l"] = None if value is None else round(value * 1000, 2)
        out["type"] = self.type
        out["location"] = self.location
        out["sensor_status"] = (
            None
            if self.sensor_status is None
            else {n: bool(self.sensor_status & (1 << i)) for i, n in enumerate(SENSOR_STATUS)}
        )
        out["context_follows"] = self.context_follows
        if self.time_problem is not None:
            out["time_problem"] = self.time_problem
        return out


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def decode_measurement(
    data: bytes | bytearray, *, big_endian: frozenset[str] = frozenset()
) -> GlucoseMeasurement:
    r = Reader(data, "Glucose Measurement 0x2A18", big_endian)
    flags = r.u8("flags")
    sequence = r.u16("sequence")
    base = read_date_time(r, "base_time")
    offset = r.s16("time_offset") if flags & FLAG_TIME_OFFSET else None
    concentration = type_code = location = None
    if flags & FLAG_CONCENTRATION:
        concentration = decode_sfloat(r.word_le("concentration"))
        packed = r.u8("type_sample_location")
        type_code, location = packed & 0x0F, packed >> 4
    status = r.u16("sensor_status") if flags & FLAG_SENSOR_STATUS else None
    return GlucoseMeasurement(flags, sequence, base, offset, concentration, type_code, location, status)


def encode_measurement(
    sequence: int,
    base_time: datetime | DateTime,
    *,
    mmol_per_l: float | None = None,
    kg_per_l: float | None = None,
    time_offset_min: int | None = None,
    type_code: int = 2,
    location_code: int = 1,
    sensor_status: int | None = None,
    context_follows: bool = False,
) -> bytes:
    flags = (
        (FLAG_TIME_OFFSET if time_offset_min is not None else 0)
        | (FLAG_SENSOR_STATUS if sensor_status is not None else 0)
        | (FLAG_CONTEXT_FOLLOWS if context_follows else 0)
    )
    body = b""
    if mmol_per_l is not None or kg_per_l is not None:
        flags |= FLAG_CONCENTRATION
        if mmol_per_l is not None:
            flags |= FLAG_MOL_PER_L
            body = encode_sfloat(round(mmol_per_l / 1000, 5))
        else:
            body = encode_sfloat(kg_per_l if kg_per_l is not None else 0.0)
        body += bytes([(location_code << 4) | type_code])
    stamp = base_time if isinstance(base_time, DateTime) else DateTime.from_datetime(base_time)
    out = bytes([flags]) + sequence.to_bytes(2, "little") + stamp.encode()
    if time_offset_min is not None:
        out += time_offset_min.to_bytes(2, "little", signed=True)
    out += body
    if sensor_status is not None:
        out += sensor_status.to_bytes(2, "little")
    return out
