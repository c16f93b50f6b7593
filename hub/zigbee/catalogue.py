"""The devices the simulator plays, as zigbee2mqtt describes them (its device pages: exposes and state).

One documented model per role (hub.zigbee.devices.MODELS); `bridge/devices` entries and state payloads in
zigbee2mqtt's own shapes, so `hub sim zigbee` drives the hub through the same parser as a real bridge.
"""

from __future__ import annotations

from typing import Any

from hub.zigbee.devices import MODELS


def _binary(prop: str, on: Any = True, off: Any = False, access: int = 1) -> dict[str, Any]:
    return {"type": "binary", "name": prop, "property": prop, "access": access, "value_on": on, "value_off": off}


def _numeric(prop: str, low: int, high: int, unit: str = "") -> dict[str, Any]:
    return {"type": "numeric", "name": prop, "property": prop, "access": 1, "value_min": low, "value_max": high,
            "unit": unit}


LQI = _numeric("linkquality", 0, 255, "lqi")
BATTERY = _numeric("battery", 0, 100, "%")
EXPOSES: dict[str, list[dict[str, Any]]] = {
    "gas": [_binary("gas"), _binary("battery_low"), _binary("tamper"), LQI],  # HEIMAN HS1CG-M
    "co": [_binary("carbon_monoxide"), _binary("battery_low"), _binary("tamper"), BATTERY, LQI],  # HS1CA-E
    "water": [_binary("water_leak"), _binary("battery_low"), _binary("tamper"), BATTERY, LQI],  # Aqara SJCGQ11LM
    "smoke": [_binary("smoke"), _binary("battery_low"), _binary("tamper"), BATTERY, LQI],  # HEIMAN HS1SA
    "sos": [{"type": "enum", "name": "action", "property": "action", "access": 1, "values": ["emergency"]},
            BATTERY, LQI],  # HEIMAN HS1EB/HS1EB-E
    "door": [_binary("contact"), BATTERY, LQI],  # Aqara MCCGQ11LM
    "motion": [_binary("occupancy"), BATTERY, LQI],  # Aqara RTCGQ11LM
    "valve": [{"type": "switch", "features": [_binary("state", "ON", "OFF", access=7)]}, LQI],  # Tuya TS0111_valve
}
VENDORS = {"gas": "HEIMAN", "co": "HEIMAN", "smoke": "HEIMAN", "sos": "HEIMAN", "water": "Xiaomi", "door": "Xiaomi",
           "motion": "Xiaomi", "gas_valve": "Tuya", "water_valve": "Tuya"}


def bridge_entry(name: str, role: str, index: int) -> dict[str, Any]:
    exposes = EXPOSES["valve" if role.endswith("_valve") else role]
    return {"ieee_address": f"0x00124b00{index:08x}", "type": "Router" if role.endswith("_valve") else "EndDevice",
            "network_address": 1000 + index, "supported": True, "friendly_name": name, "disabled": False,
            "interview_completed": True, "interviewing": False,
            "definition": {"model": MODELS[role], "vendor": VENDORS[role], "description": f"simulated {role}",
                           "exposes": exposes, "options": [], "supports_ota": False}}


def coordinator() -> dict[str, Any]:
    return {"ieee_address": "0x00124b0000000000", "type": "Coordinator", "network_address": 0, "supported": True,
            "friendly_name": "Coordinator", "interview_completed": True, "definition": None}


PROPERTY = {"gas": "gas", "co": "carbon_monoxide", "water": "water_leak", "smoke": "smoke", "door": "contact",
            "motion": "occupancy"}


def state(role: str, on: bool, battery: int = 90, linkquality: int = 120) -> dict[str, Any]:
    """A state message as the device's converter publishes it (every exposed property, each report)."""
    body: dict[str, Any] = {"linkquality": linkquality}
    if role in PROPERTY:
        # a door contact reports contact=false when OPEN: "on" means the door is open
        body[PROPERTY[role]] = (not on) if role == "door" else on
    if role in ("gas", "co", "water", "smoke"):
        body.update(battery_low=battery < 20, tamper=False)
    if role == "sos":
        body["action"] = "emergency"
    if role != "gas":
        body["battery"] = battery
    return body
