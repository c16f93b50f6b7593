"""Glucose Measurement 0x2A18 and Glucose Measurement Context 0x2A34 (both notified).

Measurement flags: bit0 time offset, bit1 concentration + type/sample location, bit2 unit mol/L (else
kg/L), bit3 sensor status annunciation, bit4 context information follows. Type is the low nibble of the
type/location byte, sample location the high nibble. Context flags: bit0 carbohydrate, bit1 meal,
bit2 tester/health, bit3 exercise, bit4 medication, bit5 medication in litres (else kg), bit6 HbA1c,
bit7 extended flags byte present.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drivers.ble import Reader
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
MEALS = {1: "before", 2: "after", 3: "fasting", 4: "casual", 5: "bedtime"}  # preprandial, postprandial...
MEAL_CODES = {v: k for k, v in MEALS.items()}
CARBOHYDRATES = {1: "breakfast", 2: "lunch", 3: "dinner", 4: "snack", 5: "drink", 6: "supper", 7: "brunch"}
TESTERS = {1: "self", 2: "health_care_professional", 3: "lab_test", 15: "not_available"}
HEALTH = {
    1: "minor_health_issues",
    2: "major_health_issues",
    3: "during_menses",
    4: "under_stress",
    5: "no_health_issues",
    15: "not_available",
}
MEDICATIONS = {
    1: "rapid_acting_insulin",
    2: "short_acting_insulin",
    3: "intermediate_acting_insulin",
    4: "long_acting_insulin",
    5: "pre_mixed_insulin",
}


def _name(table: dict[int, str], code: int | None) -> str | None:
    return None if code is None else table.get(code, f"reserved_{code}")


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
        return _name(TYPES, self.type_code)

    @property
    def location(self) -> str | None:
        return _name(LOCATIONS, self.location_code)

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


@dataclass(frozen=True)
class GlucoseContext:
    flags: int
    sequence: int
    extended_flags: int | None = None
    carbohydrate_id: int | None = None
    carbohydrate_kg: Number | None = None
    meal_code: int | None = None
    tester_code: int | None = None
    health_code: int | None = None
    exercise_duration_s: int | None = None  # 0xFFFF = overrun
    exercise_intensity_pct: int | None = None
    medication_id: int | None = None
    medication: Number | None = None
    hba1c_pct: Number | None = None

    @property
    def meal(self) -> str | None:
        return _name(MEALS, self.meal_code)

    @property
    def medication_unit(self) -> str | None:
        if self.medication is None:
            return None
        return "L" if self.flags & 0x20 else "kg"

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "carbohydrate": _name(CARBOHYDRATES, self.carbohydrate_id),
            "carbohydrate_kg": to_json(self.carbohydrate_kg),
            "meal": self.meal,
            "tester": _name(TESTERS, self.tester_code),
            "health": _name(HEALTH, self.health_code),
            "exercise_duration_s": self.exercise_duration_s,
            "exercise_intensity_pct": self.exercise_intensity_pct,
            "medication": _name(MEDICATIONS, self.medication_id),
            "medication_amount": to_json(self.medication),
            "medication_unit": self.medication_unit,
            "hba1c_pct": to_json(self.hba1c_pct),
        }


def decode_context(data: bytes | bytearray) -> GlucoseContext:
    r = Reader(data, "Glucose Measurement Context 0x2A34")
    flags = r.u8("flags")
    fields: dict[str, Any] = {"sequence": r.u16("sequence")}
    if flags & 0x80:
        fields["extended_flags"] = r.u8("extended_flags")
    if flags & 0x01:
        fields["carbohydrate_id"] = r.u8("carbohydrate_id")
        fields["carbohydrate_kg"] = decode_sfloat(r.take(2, "carbohydrate"))
    if flags & 0x02:
        fields["meal_code"] = r.u8("meal")
    if flags & 0x04:
        packed = r.u8("tester_health")
        fields["tester_code"], fields["health_code"] = packed & 0x0F, packed >> 4
    if flags & 0x08:
        fields["exercise_duration_s"] = r.u16("exercise_duration")
        fields["exercise_intensity_pct"] = r.u8("exercise_intensity")
    if flags & 0x10:
        fields["medication_id"] = r.u8("medication_id")
        fields["medication"] = decode_sfloat(r.take(2, "medication"))
    if flags & 0x40:
        fields["hba1c_pct"] = decode_sfloat(r.take(2, "hba1c"))
    return GlucoseContext(flags, **fields)


def encode_context(
    sequence: int, *, meal: str | None = None, tester_code: int | None = None, health_code: int | None = None
) -> bytes:
    flags = (0x02 if meal is not None else 0) | (0x04 if tester_code is not None else 0)
    out = bytes([flags]) + sequence.to_bytes(2, "little")
    if meal is not None:
        out += bytes([MEAL_CODES[meal]])
    if tester_code is not None:
        out += bytes([((health_code or 15) << 4) | tester_code])
    return out
