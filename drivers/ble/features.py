"""Blood Pressure Feature 0x2A49 and Glucose Feature 0x2A51 (both read): what a meter supports.

Each is a 16-bit little-endian bit field. The hub reads it once per connection: the status bits a
meter may report are the ones its feature says it detects (a set bit for an undetected condition is
a quirk and is ignored), and the Glucose Feature's time-fault detection lets a record's "time fault"
status move it to the hub's receive time. Bits above those named here are reserved and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.ble import Reader

BP_FEATURES = (
    "body_movement_detection",
    "cuff_fit_detection",
    "irregular_pulse_detection",
    "pulse_rate_range_detection",
    "measurement_position_detection",
    "multiple_bond",
    "e2e_crc",
    "user_data_service",
    "user_facing_time",
)
GLUCOSE_FEATURES = (
    "low_battery_detection",
    "sensor_malfunction_detection",
    "sample_size",
    "strip_insertion_error_detection",
    "strip_type_error_detection",
    "result_high_low_detection",
    "temperature_high_low_detection",
    "read_interrupt_detection",
    "general_device_fault",
    "time_fault",
    "multiple_bond",
)
# BP Measurement Status bits (bps.BpStatus) each feature bit vouches for: feature bit -> status mask.
BP_STATUS_BY_FEATURE = {0: 0x0001, 1: 0x0002, 2: 0x0004, 3: 0x0018, 4: 0x0020}


@dataclass(frozen=True)
class Features:
    kind: str  # "bp" | "glucose"
    raw: int

    @property
    def names(self) -> tuple[str, ...]:
        table = BP_FEATURES if self.kind == "bp" else GLUCOSE_FEATURES
        return tuple(n for i, n in enumerate(table) if self.raw & (1 << i))

    def supports(self, name: str) -> bool:
        return name in self.names

    def bp_status_mask(self) -> int:
        """The Measurement Status bits this meter can mean (the others it cannot detect)."""
        return sum(mask for bit, mask in BP_STATUS_BY_FEATURE.items() if self.raw & (1 << bit))

    def to_json(self) -> dict[str, object]:
        return {"raw": self.raw, "supported": list(self.names)}


def decode_bp_feature(data: bytes | bytearray) -> Features:
    return Features("bp", Reader(data, "Blood Pressure Feature 0x2A49").u16("features"))


def decode_glucose_feature(data: bytes | bytearray) -> Features:
    return Features("glucose", Reader(data, "Glucose Feature 0x2A51").u16("features"))
