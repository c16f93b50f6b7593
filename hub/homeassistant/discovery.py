"""Home Assistant MQTT discovery documents for one hub: pure, no I/O.

Each entity is one retained document on `{discovery}/{component}/{node}/{object}/config` (node: the
hub id made safe for a topic level, so a broker ACL can grant `{discovery}/+/{node}/#` to this hub
alone). All entities belong to one device, read their state from the bridge prefix, and are available
while the hub's retained status says "online" (its Last Will says "offline").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub import __version__


@dataclass(frozen=True)
class Entity:
    component: str  # "sensor" | "binary_sensor"
    object_id: str
    name: str
    state: str  # state topic under the bridge prefix
    template: str
    extra: tuple[tuple[str, Any], ...] = ()


# What a relative sees. Names carry Mandarin first, then English.
ENTITIES = (
    Entity("binary_sensor", "help_needed", "需要帮助 Help needed", "alarms", "{{ value_json.help }}",
           (("device_class", "problem"), ("payload_on", "ON"), ("payload_off", "OFF"))),
    Entity("sensor", "open_calls", "未处理呼叫 Open calls", "alarms", "{{ value_json.open_calls }}",
           (("state_class", "measurement"), ("icon", "mdi:phone-alert"))),
    Entity("sensor", "last_activity", "最近活动 Last activity", "activity", "{{ value_json.last }}",
           (("device_class", "timestamp"),)),
    Entity("sensor", "temperature", "室温 Room temperature", "climate", "{{ value_json.temperature_c }}",
           (("device_class", "temperature"), ("unit_of_measurement", "°C"), ("state_class", "measurement"))),
    Entity("sensor", "humidity", "湿度 Humidity", "climate", "{{ value_json.humidity_pct }}",
           (("device_class", "humidity"), ("unit_of_measurement", "%"), ("state_class", "measurement"))),
    Entity("sensor", "bp_systolic", "收缩压 Systolic BP", "blood_pressure", "{{ value_json.systolic }}",
           (("unit_of_measurement", "mmHg"), ("state_class", "measurement"), ("icon", "mdi:heart-pulse"))),
    Entity("sensor", "bp_diastolic", "舒张压 Diastolic BP", "blood_pressure", "{{ value_json.diastolic }}",
           (("unit_of_measurement", "mmHg"), ("state_class", "measurement"), ("icon", "mdi:heart-pulse"))),
    Entity("sensor", "glucose", "血糖 Blood glucose", "glucose", "{{ value_json.mmol_per_l }}",
           (("unit_of_measurement", "mmol/L"), ("state_class", "measurement"), ("icon", "mdi:water"))),
)


def node_id(hub_id: str) -> str:
    """The hub id as a discovery node id (letters, digits, '_' and '-' only)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", hub_id)


def bridge_base(prefix: str, hub_id: str) -> str:
    return prefix.replace("{hub}", hub_id)


def documents(hub_id: str, bridge: str, discovery: str, status_topic: str,
              device_name: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(config topic, discovery document) for every entity of hub `hub_id`."""
    node = node_id(hub_id)
    device = {
        "identifiers": [f"eldercare_hub_{node}"],
        "name": device_name or f"居家养老终端 {hub_id}",
        "manufacturer": "eldercare-hub (open source)",
        "model": "居家养老终端 home hub",
        "sw_version": __version__,
    }
    availability = [{"topic": status_topic, "value_template": "{{ value_json.state }}",
                     "payload_available": "online", "payload_not_available": "offline"}]
    out = []
    for e in ENTITIES:
        state_topic = f"{bridge}/{e.state}"
        doc: dict[str, Any] = {
            "name": e.name,
            "unique_id": f"eldercare_{node}_{e.object_id}",
            "state_topic": state_topic,
            "value_template": e.template,
            "json_attributes_topic": state_topic,
            "availability": availability,
            "device": device,
            **dict(e.extra),
        }
        out.append((f"{discovery}/{e.component}/{node}/{e.object_id}/config", doc))
    return out
