"""zigbee2mqtt payloads as its documentation shows them (zigbee2mqtt.io device pages and MQTT topics and
messages guide), written out here by hand, not built from the hub's own catalogue: bridge/devices entries with
the documented exposes of each model, and the state each converter publishes."""

from __future__ import annotations

import json
from typing import Any

BASE = "zigbee2mqtt"


def _binary(prop: str, on: Any = True, off: Any = False, access: int = 1) -> dict[str, Any]:
    return {"access": access, "description": f"Indicates {prop}", "label": prop, "name": prop, "property": prop,
            "type": "binary", "value_off": off, "value_on": on}


LQI = {"access": 1, "description": "Link quality (signal strength)", "label": "Linkquality", "name": "linkquality",
       "property": "linkquality", "type": "numeric", "unit": "lqi", "value_max": 255, "value_min": 0}
BATTERY = {"access": 1, "label": "Battery", "name": "battery", "property": "battery", "type": "numeric",
           "unit": "%", "value_max": 100, "value_min": 0}


def device(name: str, ieee: str, model: str, vendor: str, exposes: list[dict[str, Any]],
           kind: str = "EndDevice") -> dict[str, Any]:
    return {"ieee_address": ieee, "type": kind, "network_address": 4242, "supported": True, "disabled": False,
            "friendly_name": name, "interview_completed": True, "interviewing": False, "power_source": "Battery",
            "definition": {"model": model, "vendor": vendor, "description": model, "exposes": exposes,
                           "options": [], "supports_ota": False}}


HS1CG_M = [_binary("gas"), _binary("battery_low"), _binary("tamper"), LQI]  # HEIMAN HS1CG-M: gas, battery_low, tamper
HS1CA_E = [_binary("carbon_monoxide"), _binary("battery_low"), _binary("tamper"), BATTERY, LQI]  # HEIMAN HS1CA-E
SJCGQ11LM = [BATTERY, {"access": 1, "name": "voltage", "property": "voltage", "type": "numeric", "unit": "mV"},
             _binary("water_leak"), _binary("battery_low"), _binary("tamper"), LQI]  # Aqara water leak
HS1SA = [_binary("smoke"), _binary("battery_low"), _binary("tamper"), BATTERY, LQI]  # HEIMAN smoke
HS1EB = [BATTERY, {"access": 1, "name": "action", "property": "action", "type": "enum", "values": ["emergency"],
                   "label": "Action"}, LQI]  # HEIMAN HS1EB/HS1EB-E SOS button
TS0111_VALVE = [{"type": "switch", "features": [_binary("state", "ON", "OFF", access=7)]},
                {"access": 7, "name": "power_on_behavior", "property": "power_on_behavior", "type": "enum",
                 "values": ["off", "previous", "on"]}, LQI]  # Tuya TS0111_valve: switch (state)
RTCGQ11LM = [BATTERY, _binary("occupancy"), {"access": 1, "name": "illuminance", "property": "illuminance",
                                             "type": "numeric"}, LQI]  # Aqara motion sensor
TS0201 = [BATTERY, {"access": 1, "name": "temperature", "property": "temperature", "type": "numeric"},
          {"access": 1, "name": "humidity", "property": "humidity", "type": "numeric"}, LQI]  # a thermometer

HOME = [
    device("kitchen_gas", "0x00158d0001a2b3c4", "HS1CG-M", "HEIMAN", HS1CG_M),
    device("gas_valve", "0xa4c1380000000001", "TS0111_valve", "Tuya", TS0111_VALVE, kind="Router"),
    device("bedroom_co", "0x00158d0001a2b3c5", "HS1CA-E", "HEIMAN", HS1CA_E),
    device("bath_leak", "0x00158d0001a2b3c6", "SJCGQ11LM", "Xiaomi", SJCGQ11LM),
    device("hall_smoke", "0x00158d0001a2b3c7", "HS1SA", "HEIMAN", HS1SA),
    device("bed_sos", "0x00158d0001a2b3c8", "HS1EB/HS1EB-E", "HEIMAN", HS1EB),
    device("hall_motion", "0x00158d0001a2b3cb", "RTCGQ11LM", "Xiaomi", RTCGQ11LM),
    device("neighbour_gas", "0x00158d0001a2b3c9", "HS1CG-M", "HEIMAN", HS1CG_M),  # paired, not ours
    device("thermo", "0x00158d0001a2b3ca", "TS0201", "Tuya", TS0201),  # configured as gas by mistake
    {"ieee_address": "0x00124b0000000000", "type": "Coordinator", "network_address": 0, "supported": True,
     "friendly_name": "Coordinator", "interview_completed": True, "definition": None},
]

CONFIG = """
[zigbee]
enabled = true
port = {port}
sim_bridge = false
valve_confirm_s = {confirm}
[[zigbee.devices]]
friendly_name = "kitchen_gas"
room = "厨房"
role = "gas"
[[zigbee.devices]]
friendly_name = "gas_valve"
room = "厨房"
role = "gas_valve"
[[zigbee.devices]]
friendly_name = "bedroom_co"
room = "卧室"
role = "co"
[[zigbee.devices]]
friendly_name = "bath_leak"
room = "卫生间"
role = "water"
[[zigbee.devices]]
friendly_name = "hall_smoke"
room = "客厅"
role = "smoke"
[[zigbee.devices]]
friendly_name = "bed_sos"
room = "卧室"
role = "sos"
[[zigbee.devices]]
friendly_name = "hall_motion"
room = "客厅"
role = "motion"
[[zigbee.devices]]
friendly_name = "thermo"
room = "客厅"
role = "gas"
"""


def config(port: int, confirm: float = 5) -> str:
    return CONFIG.format(port=port, confirm=confirm)


def devices() -> str:
    return json.dumps(HOME)


# States as the converters publish them (the whole state on every report).
GAS_ON = {"gas": True, "battery_low": False, "tamper": False, "linkquality": 112}
GAS_OFF = {"gas": False, "battery_low": False, "tamper": False, "linkquality": 114}
CO_ON = {"carbon_monoxide": True, "battery_low": False, "tamper": False, "battery": 95, "linkquality": 98}
WATER_ON = {"battery": 91, "voltage": 3005, "water_leak": True, "battery_low": False, "tamper": False,
            "linkquality": 87}
SMOKE_ON = {"smoke": True, "battery_low": False, "tamper": False, "battery": 88, "linkquality": 76}
SOS = {"action": "emergency", "battery": 100, "linkquality": 120}
VALVE_OFF = {"state": "OFF", "power_on_behavior": "previous", "linkquality": 150}
