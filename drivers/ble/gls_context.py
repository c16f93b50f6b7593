"""Glucose Measurement Context 0x2A34 (notified after a measurement whose flag bit4 says one follows).

Flags: bit0 carbohydrate, bit1 meal, bit2 tester/health, bit3 exercise, bit4 medication, bit5 medication
in litres (else kg), bit6 HbA1c, bit7 extended flags byte present. The context carries the measurement's
sequence number, which is how a meter's reading finds its meal (sensors.meters.glucose).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.ble import Reader, code_name
from drivers.ble.sfloat import Number, decode_sfloat, to_json

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
        return code_name(MEALS, self.meal_code)

    @property
    def medication_unit(self) -> str | None:
        if self.medication is None:
            return None
        return "L" if self.flags & 0x20 else "kg"

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "carbohydrate": code_name(CARBOHYDRATES, self.carbohydrate_id),
            "carbohydrate_kg": to_json(self.carbohydrate_kg),
            "meal": self.meal,
            "tester": code_name(TESTERS, self.tester_code),
            "health": code_name(HEALTH, self.health_code),
            "exercise_duration_s": self.exercise_duration_s,
            "exercise_intensity_pct": self.exercise_intensity_pct,
            "medication": code_name(MEDICATIONS, self.medication_id),
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
