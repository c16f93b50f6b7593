"""Config section [zigbee]: zigbee2mqtt on the unit's own broker, and the devices this home has.

    [zigbee]
    enabled = true
    host = "127.0.0.1"          # the unit's local mosquitto (bound to loopback), not the platform's broker
    port = 1883
    base_topic = "zigbee2mqtt"
    [[zigbee.devices]]
    friendly_name = "kitchen_gas"
    room = "厨房"
    role = "gas"
    [[zigbee.devices]]
    friendly_name = "gas_valve"
    room = "厨房"
    role = "gas_valve"

docs/hardware.md "Zigbee sensors" explains the install and pairing.
"""

from __future__ import annotations

import re
from typing import Any

from hub.config.keys import Key, Section, did_you_mean, spoken_room

# What a configured device is for; its exposes (zigbee2mqtt's bridge/devices) must agree (hub.zigbee.devices).
ROLES = ("gas", "co", "water", "smoke", "sos", "door", "motion", "gas_valve", "water_valve")
DEVICE_KEYS = {"friendly_name", "room", "role"}
ROOM_MAX = 12  # characters: the room is said to the resident and printed in the SMS
# zigbee2mqtt friendly names become MQTT topic levels: no wildcards, no levels of our own making.
NAME_RE = re.compile(r"[A-Za-z0-9_\-\u3400-\u9fff]{1,48}")


def _devices_rule(value: Any) -> str:
    if not isinstance(value, list):
        return "must be a list of { friendly_name, room, role } tables"
    seen: set[str] = set()
    for i, dev in enumerate(value):
        if not isinstance(dev, dict):
            return f"entry {i + 1} must be a table {{ friendly_name, room, role }}"
        extra = set(dev) - DEVICE_KEYS
        if extra:
            meant = "".join(did_you_mean(key, DEVICE_KEYS) for key in sorted(extra))
            return (f"entry {i + 1}: unknown key(s) {', '.join(sorted(extra))}{meant} (allowed: friendly_name, room, "
                    "role)")
        name, room, role = dev.get("friendly_name"), dev.get("room"), dev.get("role")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            return (f"entry {i + 1}: friendly_name {name!r} must be 1-48 letters, digits, _ or - (the name set in "
                    "zigbee2mqtt; no spaces, '/', '+' or '#')")
        if name in seen:
            return f"entry {i + 1}: friendly_name {name!r} appears twice"
        seen.add(name)
        if not isinstance(room, str) or not 1 <= len(room) <= ROOM_MAX:
            return f"entry {i + 1} ({name}): room must be 1-{ROOM_MAX} characters (e.g. 厨房)"
        if spoken_room(room):
            return f"entry {i + 1} ({name}): {spoken_room(room)}"
        if role not in ROLES:
            return f"entry {i + 1} ({name}): role must be one of {', '.join(ROLES)}, got {role!r}"
    return ""


ZIGBEE = Section(
    "zigbee",
    "Zigbee sensors through zigbee2mqtt on the unit's own broker (docs/hardware.md 'Zigbee sensors').",
    {
        "enabled": Key(False, "Read zigbee2mqtt's MQTT API on the unit's local broker."),
        "host": Key("127.0.0.1", "The broker zigbee2mqtt publishes to: the unit's own mosquitto, bound to "
                    "loopback (not the platform's broker).", min=1, max=253),
        "port": Key(1883, "Port of that broker.", min=1, max=65535),
        "base_topic": Key("zigbee2mqtt", "zigbee2mqtt's base_topic (its configuration.yaml mqtt.base_topic).",
                          min=1, max=64, rule=lambda v: "" if re.fullmatch(r"[A-Za-z0-9_\-/]+", v)
                          and not v.startswith("/") and not v.endswith("/") else
                          "letters, digits, _, - and inner / only"),
        "valve_confirm_s": Key(20.0, "Seconds a valve has to report itself closed after the hub closes it; "
                               "else fault.valve.", min=2, max=300),
        "permit_join_s": Key(120, "Default seconds `hub zigbee permit-join` opens the network.", min=10, max=254),
        "sim_bridge": Key(True, "`hub run --simulate` only: play zigbee2mqtt on that broker for `hub sim zigbee` "
                          "(false when a real zigbee2mqtt, or a test, publishes there)."),
        "devices": Key([], "The home's devices: a list of { friendly_name = as named in zigbee2mqtt, room = "
                       "where (spoken, e.g. 厨房), role = gas|co|water|smoke|sos|door|motion|gas_valve|"
                       "water_valve }.", kind=list, rule=_devices_rule, example=[
                           {"friendly_name": "kitchen_gas", "room": "厨房", "role": "gas"},
                           {"friendly_name": "gas_valve", "room": "厨房", "role": "gas_valve"}]),
    },
)

SECTIONS: list[Section] = [ZIGBEE]
