"""Values shared by the BLE byte-table tests (parsers and `hub ble decode`)."""

from __future__ import annotations

STAMP = bytes.fromhex("e807050608091e")  # Date Time 2024-05-06 08:09:30

# What a decoded Blood Pressure Measurement carries, in the order `to_json` (and `hub ble decode bp`) gives.
BP_KEYS = [
    "systolic",
    "diastolic",
    "mean_arterial",
    "unit",
    "timestamp",
    "pulse",
    "user_id",
    "status",
]
