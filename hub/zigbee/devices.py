"""zigbee2mqtt's MQTT API read strictly: what a device is (from `bridge/devices` exposes, never from its
name) and what one of its state messages says. Pure functions, no I/O.

A device supports a role when its definition exposes the property that role reads (zigbee2mqtt's
documented exposes): gas -> binary `gas`, co -> `carbon_monoxide`, water -> `water_leak`, smoke -> `smoke`,
sos -> enum `action` with `emergency`, door -> `contact`, motion -> `occupancy`, gas_valve/water_valve ->
a writable `state` (a switch, ON = open) and/or `valve_state`. Anything else is listed with the reason
it is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

STATE_MAX_BYTES = 4096  # a sensor's state is a few hundred bytes; more is not zigbee2mqtt
DEVICES_MAX_BYTES = 1_000_000  # bridge/devices: a few kB per device, with room for a large home
ALARM_PROPERTY = {"gas": "gas", "co": "carbon_monoxide", "water": "water_leak", "smoke": "smoke"}
BINARY_PROPERTY = {**ALARM_PROPERTY, "door": "contact", "motion": "occupancy"}
SOS_ACTIONS = ("emergency", "sos")
VALVE_ROLES = ("gas_valve", "water_valve")
# The model zigbee2mqtt names for each role in tests and the simulator (docs/hardware.md, supported devices).
MODELS = {"gas": "HS1CG-M", "co": "HS1CA-E", "water": "SJCGQ11LM", "smoke": "HS1SA", "sos": "HS1EB/HS1EB-E",
          "door": "MCCGQ11LM", "motion": "RTCGQ11LM", "gas_valve": "TS0111_valve", "water_valve": "TS0111_valve"}


class Refused(ValueError):
    """A message that is not what zigbee2mqtt sends: the reason, for the log."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Refused(f"key {key!r} twice")
        out[key] = value
    return out


def _reject_constant(word: str) -> Any:
    raise Refused(f"{word} is not JSON")


def load_json(payload: bytes, limit: int) -> Any:
    if len(payload) > limit:
        raise Refused(f"{len(payload)} bytes, more than {limit}")
    try:
        return json.loads(payload.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Refused(f"not JSON ({type(exc).__name__})") from None


def _exposed(exposes: Any) -> list[dict[str, Any]]:
    """Every expose and feature of a switch/composite, flat."""
    out: list[dict[str, Any]] = []
    for item in exposes if isinstance(exposes, list) else []:
        if isinstance(item, dict):
            out.append(item)
            out.extend(_exposed(item.get("features")))
    return out


def supported_roles(definition: Any) -> set[str]:
    """The roles a device definition (bridge/devices `definition`) can fill, from its exposes."""
    if not isinstance(definition, dict):
        return set()
    roles: set[str] = set()
    for e in _exposed(definition.get("exposes")):
        prop, kind = e.get("property"), e.get("type")
        for role, wanted in BINARY_PROPERTY.items():
            if prop == wanted and kind == "binary":
                roles.add(role)
        if prop == "action" and kind == "enum" and any(v in SOS_ACTIONS for v in e.get("values") or ()):
            roles.add("sos")
        access = e.get("access")
        if prop == "state" and kind == "binary" and isinstance(access, int) and access & 2:
            roles.update(VALVE_ROLES)
    return roles


@dataclass
class Known:
    """A device zigbee2mqtt reports, as this hub sees it."""

    friendly_name: str
    ieee: str
    model: str
    vendor: str
    roles: set[str]
    role: str | None = None  # configured role
    room: str | None = None
    reason: str = ""  # why it is ignored, "" when in use

    @property
    def used(self) -> bool:
        return not self.reason

    def row(self) -> dict[str, Any]:
        return {"friendly_name": self.friendly_name, "ieee": self.ieee, "model": self.model, "vendor": self.vendor,
                "supports": sorted(self.roles), "role": self.role, "room": self.room, "used": self.used,
                "reason": self.reason}


def read_devices(payload: bytes, configured: dict[str, dict[str, str]]) -> dict[str, Known]:
    """bridge/devices against the config: every device, used or with the reason it is ignored."""
    body = load_json(payload, DEVICES_MAX_BYTES)
    if not isinstance(body, list):
        raise Refused("bridge/devices is not a list")
    found: dict[str, Known] = {}
    for dev in body:
        if not isinstance(dev, dict) or dev.get("type") == "Coordinator":
            continue
        name = dev.get("friendly_name")
        if not isinstance(name, str) or not name or len(name) > 64:
            continue
        definition = dev.get("definition")
        model = str(definition.get("model", "")) if isinstance(definition, dict) else ""
        vendor = str(definition.get("vendor", "")) if isinstance(definition, dict) else ""
        known = Known(name, str(dev.get("ieee_address", "")), model[:48], vendor[:48], supported_roles(definition))
        cfg = configured.get(name)
        if cfg is not None:
            known.role, known.room = cfg["role"], cfg["room"]
        if not isinstance(definition, dict) or dev.get("supported") is False:
            known.reason = "zigbee2mqtt does not support this model (no definition)"
        elif dev.get("interview_completed") is False:
            known.reason = "pairing not finished (interview incomplete): pair it again"
        elif cfg is None:
            known.reason = "not in [[zigbee.devices]]"
        elif cfg["role"] not in known.roles:
            known.reason = (f"configured as {cfg['role']} but model {model or '?'} exposes "
                            f"{', '.join(sorted(known.roles)) or 'nothing this hub uses'}")
        found[name] = known
    return found


@dataclass
class State:
    """What one state message says, checked: only the fields this hub reads, with their types right."""

    values: dict[str, bool] = field(default_factory=dict)  # gas, carbon_monoxide, water_leak, smoke, contact...
    action: str | None = None
    valve_open: bool | None = None  # state ON/OFF, valve_state open/close
    battery_pct: int | None = None
    battery_low: bool | None = None
    linkquality: int | None = None
    tamper: bool | None = None


def read_state(payload: bytes) -> State:
    body = load_json(payload, STATE_MAX_BYTES)
    if not isinstance(body, dict):
        raise Refused("state is not a JSON object")
    state = State()
    for prop in (*BINARY_PROPERTY.values(), "battery_low", "tamper"):
        if prop in body:
            value = body[prop]
            if not isinstance(value, bool):
                raise Refused(f"{prop} must be true or false, got {type(value).__name__}")
            if prop == "battery_low":
                state.battery_low = value
            elif prop == "tamper":
                state.tamper = value
            else:
                state.values[prop] = value
    action = body.get("action")
    if action is not None and action != "":
        if not isinstance(action, str) or len(action) > 32:
            raise Refused("action must be a short string")
        state.action = action
    for prop, low, high in (("battery", 0, 100), ("linkquality", 0, 255)):
        value = body.get(prop)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise Refused(f"{prop} must be a number {low}..{high}")
        if prop == "battery":
            state.battery_pct = round(value)
        else:
            state.linkquality = round(value)
    raw_state, valve_state = body.get("state"), body.get("valve_state")
    if raw_state is not None:
        if raw_state not in ("ON", "OFF"):
            raise Refused("state must be ON or OFF")
        state.valve_open = raw_state == "ON"
    if valve_state is not None:
        if valve_state not in ("open", "close", "closed", "unknown"):
            raise Refused("valve_state must be open, close or unknown")
        if valve_state != "unknown":
            state.valve_open = valve_state == "open"
    return state


def read_availability(payload: bytes) -> bool:
    """`<name>/availability` (and bridge/state): {"state": "online"|"offline"}, or the legacy plain word."""
    text = payload.strip()
    if text in (b"online", b"offline"):
        return text == b"online"
    body = load_json(payload, 256)
    if not isinstance(body, dict) or body.get("state") not in ("online", "offline"):
        raise Refused('availability must be {"state": "online"|"offline"}')
    return bool(body["state"] == "online")
