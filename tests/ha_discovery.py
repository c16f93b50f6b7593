"""Home Assistant's rules for an MQTT discovery document, as its MQTT integration applies them to the
sensor and binary_sensor platforms (home-assistant.io/integrations/mqtt, /sensor.mqtt,
/binary_sensor.mqtt): the config topic's shape, the keys each platform accepts (an unknown key
makes Home Assistant refuse the whole document), the required ones, the device block, device
classes with their units, and state classes.

`problems(topic, doc, discovery, bridge)` returns what is wrong, in words; [] for a valid document.
`template_key(template)` is the JSON key a `{{ value_json.KEY }}` template reads.
"""

from __future__ import annotations

import re
from typing import Any

COMMON_KEYS = {
    "name", "unique_id", "object_id", "default_entity_id", "state_topic", "value_template",
    "json_attributes_topic", "json_attributes_template", "availability", "availability_topic",
    "availability_mode", "availability_template", "payload_available", "payload_not_available",
    "device", "device_class", "icon", "entity_category", "enabled_by_default", "expire_after",
    "force_update", "qos", "encoding", "entity_picture", "origin", "platform",
}
KEYS = {
    "sensor": COMMON_KEYS | {"unit_of_measurement", "state_class", "suggested_display_precision",
                             "last_reset_value_template", "options"},
    "binary_sensor": COMMON_KEYS | {"payload_on", "payload_off", "off_delay"},
}
REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"}}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "model_id", "sw_version",
               "hw_version", "serial_number", "suggested_area", "via_device", "configuration_url"}
# The device classes used here and the units Home Assistant accepts with them (None: no unit).
SENSOR_UNITS: dict[str, set[str | None]] = {
    "temperature": {"°C", "°F", "K"},
    "humidity": {"%"},
    "timestamp": {None},
}
BINARY_CLASSES = {"problem", "safety", "smoke", "motion", "occupancy", "connectivity", "power", "running"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
LEVEL = re.compile(r"^[A-Za-z0-9_-]+$")
TEMPLATE = re.compile(r"^\{\{ value_json\.([A-Za-z_][A-Za-z0-9_]*) \}\}$")


def _topic_ok(topic: Any) -> bool:
    return isinstance(topic, str) and bool(topic) and not set(topic) & {"#", "+", "\x00"}


def template_key(template: str) -> str | None:
    m = TEMPLATE.match(template)
    return m.group(1) if m else None


def problems(topic: str, doc: dict[str, Any], discovery: str, bridge: str) -> list[str]:
    out: list[str] = []
    parts = topic.split("/")
    prefix_levels = len(discovery.split("/"))
    if "/".join(parts[:prefix_levels]) != discovery or len(parts) != prefix_levels + 4 or parts[-1] != "config":
        return [f"{topic}: not {discovery}/<component>/<node_id>/<object_id>/config"]
    component, node, obj = parts[prefix_levels:prefix_levels + 3]
    if component not in KEYS:
        return [f"{topic}: component {component!r} not checked here"]
    if not (LEVEL.match(node) and LEVEL.match(obj)):
        out.append(f"{topic}: node_id/object_id must be letters, digits, '_' or '-'")
    extra = set(doc) - KEYS[component]
    if extra:
        out.append(f"{topic}: keys Home Assistant does not accept for {component}: {sorted(extra)}")
    missing = REQUIRED[component] - set(doc)
    if missing:
        out.append(f"{topic}: required keys missing: {sorted(missing)}")
    if not isinstance(doc.get("unique_id"), str) or not doc["unique_id"]:
        out.append(f"{topic}: no unique_id (the entity cannot join a device or be edited)")
    device = doc.get("device")
    if not isinstance(device, dict):
        out.append(f"{topic}: no device block")
    else:
        if set(device) - DEVICE_KEYS:
            out.append(f"{topic}: unknown device keys {sorted(set(device) - DEVICE_KEYS)}")
        ids = device.get("identifiers")
        if not (isinstance(ids, list) and ids and all(isinstance(i, str) and i for i in ids)) \
                and not device.get("connections"):
            out.append(f"{topic}: the device needs identifiers (a non-empty list of strings) or connections")
    for key in ("state_topic", "json_attributes_topic"):
        if key in doc:
            if not _topic_ok(doc[key]):
                out.append(f"{topic}: {key} {doc[key]!r} is not a topic to publish on")
            elif not doc[key].startswith(bridge + "/"):
                out.append(f"{topic}: {key} {doc[key]!r} is not under the bridge prefix {bridge}/")
    for key in ("value_template", "json_attributes_template"):
        if key in doc and not (isinstance(doc[key], str) and doc[key].startswith("{{")):
            out.append(f"{topic}: {key} is not a template")
    for entry in doc.get("availability", []):
        if not isinstance(entry, dict) or not _topic_ok(entry.get("topic")):
            out.append(f"{topic}: availability entry without a topic: {entry!r}")
    dclass, unit, sclass = doc.get("device_class"), doc.get("unit_of_measurement"), doc.get("state_class")
    if component == "sensor":
        if dclass is not None:
            if dclass not in SENSOR_UNITS:
                out.append(f"{topic}: sensor device_class {dclass!r} not known here")
            elif unit not in SENSOR_UNITS[dclass]:
                out.append(f"{topic}: unit {unit!r} does not go with device_class {dclass}")
        if sclass is not None and (sclass not in STATE_CLASSES or dclass == "timestamp"):
            out.append(f"{topic}: state_class {sclass!r} not allowed here")
    elif dclass is not None and dclass not in BINARY_CLASSES:
        out.append(f"{topic}: binary_sensor device_class {dclass!r} not known here")
    return out
