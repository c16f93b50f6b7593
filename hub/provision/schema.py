"""The provisioning bundle's JSON Schema, kept as Python so the hub validates without `jsonschema`
installed. `docs/schemas/bundle.json` is rendered from it (`python -m hub.provision.schema`), and a
test checks the checked-in copy matches and that `jsonschema` agrees with our validator.

Secrets are marked `"writeOnly": true` (JSON Schema's "sent, never shown back"): errors hide them.
"""

from __future__ import annotations

import json
from typing import Any

GPIO = {"type": "integer", "minimum": 0, "maximum": 27, "description": "BCM GPIO number"}
I2C_ADDRESS = {"type": "integer", "minimum": 3, "maximum": 119, "description": "7-bit I2C address"}
SERIAL: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["port"],
    "properties": {
        "port": {"type": "string", "pattern": "^/dev/[A-Za-z0-9_/.-]+$"},
        "baudrate": {"type": "integer", "enum": [9600, 19200, 38400, 57600, 115200, 230400, 256000, 460800]},
    },
}
PEM = {"type": "string", "minLength": 64, "maxLength": 20000, "pattern": "^-----BEGIN [A-Z0-9 ]+-----"}
REF = {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$"}


def _variant(kind: str, required: list[str]) -> dict[str, Any]:
    return {"if": {"properties": {"kind": {"const": kind}}}, "then": {"required": required}}


BUNDLE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://eldercare-hub.example/schemas/bundle.json",
    "title": "Provisioning bundle",
    "description": "What the platform issues for one hub at installation: identity, broker, credentials "
    "and fitted hardware. `hub provision --bundle FILE` turns it into hub.toml.",
    "type": "object",
    "additionalProperties": False,
    "required": ["hub", "broker", "hardware", "version"],
    "properties": {
        "$schema": {"type": "string"},
        "hub": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "resident_ref", "community_ref"],
            "properties": {
                "id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                    "description": "Unit id; also the MQTT client id and topic segment",
                },
                "resident_ref": REF,
                "community_ref": REF,
                "timezone": {"type": "string", "pattern": "^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$"},
            },
        },
        "resident": {
            "type": "object",
            "additionalProperties": False,
            "description": "For the alarm context card ([resident]): references on the platform, never a name, "
            "phone number or street address",
            "properties": {
                "address_ref": {**REF, "maxLength": 32},
                "contacts_ref": {**REF, "maxLength": 32},
                "notes": {"type": "string", "maxLength": 60, "description": "for responders, e.g. where the key is"},
                "motion_room": {"type": "string", "minLength": 1, "maxLength": 12, "description": "the PIR's room"},
            },
        },
        "version": {"type": "integer", "const": 1, "description": "Bundle format version"},
        "voice": {
            "type": "object",
            "additionalProperties": False,
            "description": "[voice] settings; espeak_voice must read Mandarin on the hub's espeak-ng",
            "properties": {"espeak_voice": {"type": "string", "minLength": 1, "maxLength": 64,
                                            "pattern": "^[A-Za-z0-9/_-]+$"}},
        },
        "broker": {
            "type": "object",
            "additionalProperties": False,
            "required": ["host", "port"],
            "properties": {
                "host": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": "^[A-Za-z0-9.:-]+$"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "topic_prefix": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^#+]+$"},
                "username": {"type": "string", "minLength": 1, "maxLength": 128},
                "password": {"type": "string", "minLength": 8, "maxLength": 256, "writeOnly": True},
                "tls": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "Present: connect with TLS (system CAs unless ca_pem is given)",
                    "properties": {"ca_pem": PEM, "cert_pem": PEM, "key_pem": {**PEM, "writeOnly": True}},
                },
            },
        },
        "hardware": {
            "type": "object",
            "additionalProperties": False,
            "required": ["buttons"],
            "properties": {
                "buttons": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 8,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["pin", "kind"],
                        "properties": {
                            "pin": GPIO,
                            "led_pin": GPIO,
                            "kind": {"enum": ["emergency", "health", "service", "family"]},
                        },
                    },
                },
                "status_led_pin": GPIO,
                "buzzer_pin": GPIO,
                "pir": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["pin"],
                    "properties": {"pin": GPIO},
                },
                "smoke": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind"],
                    "description": "relay: a smoke alarm's relay contact on a GPIO; analog: MQ-2 via ADS1115",
                    "properties": {
                        "kind": {"enum": ["relay", "analog"]},
                        "pin": GPIO,
                        "active_low": {"type": "boolean", "description": "contact closes to GND on smoke"},
                        "trouble_pin": GPIO,
                        "address": {
                            "type": "integer",
                            "minimum": 72,
                            "maximum": 75,
                            "description": "ADS1115 address 0x48..0x4B",
                        },
                        "channel": {"type": "integer", "minimum": 0, "maximum": 3},
                    },
                    "allOf": [_variant("relay", ["pin"])],
                },
                "temperature": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["part"],
                    "properties": {
                        "part": {"enum": ["sht3x", "bme280"]},
                        "address": I2C_ADDRESS,
                    },
                },
                "power_good_pin": GPIO,
                "low_battery_pin": GPIO,
                "radar": SERIAL,
                "modem": {
                    **SERIAL,
                    "properties": {
                        **SERIAL["properties"],
                        "sms_numbers": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 10,
                            "description": "Duty numbers texted when an alarm cannot reach the platform",
                            "items": {"type": "string", "pattern": "^[+]?[0-9]{5,20}$"},
                        },
                    },
                },
            },
        },
        "issued_at": {"type": "string", "description": "When the platform issued it (ISO 8601)"},
    },
}
_ACTIONS = {"enum": ["emergency", "health", "service", "family", "cancel", "none"]}
BUNDLE_SCHEMA["properties"]["triggers"] = {  # wireless pendants and pull cords -> [[triggers]] (hub.triggers)
    "type": "array",
    "maxItems": 16,
    "description": "BLE pendants, wrist buttons, pull cords (docs/protocol.md, Wireless triggers)",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "address", "key", "room"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 24, "pattern": "^[A-Za-z0-9_-]+$"},
            "address": {"type": "string", "pattern": "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$",
                        "examples": ["A4:C1:38:00:00:01"]},
            "key": {"type": "string", "pattern": "^([0-9A-Fa-f]{32})?$", "writeOnly": True,
                    "description": "BTHome bind key, 32 hex digits", "examples": ["231d39c1d7cc1ab1aee224cd096db932"]},
            "room": {"type": "string", "minLength": 1, "maxLength": 12},
            "kind": {"enum": ["pendant", "wrist", "pull_cord", "button"]},
            "press": _ACTIONS,
            "double": _ACTIONS,
            "long": _ACTIONS,
        },
    },
}


def render() -> str:
    return json.dumps(BUNDLE_SCHEMA, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
