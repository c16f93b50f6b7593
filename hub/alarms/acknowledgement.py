"""What an acknowledgement says: the event it commits, by the alarm's category, and the operator's name
the resident may hear ("王芳已收到").

The registry (hub.alarms.registry) decides whether an ack is taken; this module only words it: the
`<category>.acknowledged` event's data in the shape platforms read (docs/protocol.md "Acknowledging
alarms") and the spoken name, which is a display name in Han characters or nothing.
"""

from __future__ import annotations

import re
from typing import Any

from hub.alarms.store import OpenAlarm

NAME_MAX = 12  # Han characters of an operator's name spoken to the resident
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_NAME = re.compile(f"(?=.{{2,{NAME_MAX}}}$)[{_HAN}]+(?:·[{_HAN}]+)*")
# What an ack publishes, by the alarm's category (docs/protocol.md "Acknowledging alarms").
ACKNOWLEDGED = {"call": "call.acknowledged", "alarm": "alarm.acknowledged", "health": "health.acknowledged",
                "power": "power.acknowledged"}


def ack_data(alarm: OpenAlarm, by: str, message: str | None, via: str | None = None) -> dict[str, Any]:
    """The data of the `<category>.acknowledged` event that closes (or quiets) this alarm."""
    if alarm.category == "call":  # call.acknowledged keeps the shape platforms already read
        data: dict[str, Any] = {"call_id": alarm.id, "kind": alarm.facts.get("kind")}
        if "trigger" in alarm.facts:  # a BLE trigger's call (hub.triggers) names the device and room
            data.update(trigger=alarm.facts["trigger"], room=alarm.facts.get("room", ""))
        elif alarm.facts.get("device"):  # a Zigbee SOS button (hub.zigbee): its device and room
            data.update(device=alarm.facts["device"], room=alarm.facts.get("room"))
        else:
            data["button"] = alarm.facts.get("button")
    else:
        data = {"alarm_id": alarm.id, "alarm_type": alarm.type, "escalated": alarm.escalated}
        if alarm.lasting:
            data["present"] = alarm.present
    data["by"] = by
    if message:
        data["message"] = message
    if via:
        data["via"] = via
    return data


def operator_names(ctx: Any) -> dict[str, Any]:
    """[voice] operator_names (login -> the name the resident may hear), {} without a config."""
    config = getattr(ctx, "config", None)
    names = config["voice"].get("operator_names") if config is not None else None
    return names if isinstance(names, dict) else {}


def spoken_name(by: str, by_name: str | None = None, names: dict[str, Any] | None = None) -> str:
    """The operator's name as the resident may hear it, or "" for the generic 工作人员: the platform's
    `by_name`, else the configured name for this login, else `by` itself, whichever first is a display name
    in Han characters ("王芳", "阿依古丽·买买提"). A login ("console", "duty01", "operator 7") never is."""
    for candidate in (by_name, (names or {}).get(by), by):
        if isinstance(candidate, str):
            name = "".join(candidate.split()).replace("・", "·").replace("•", "·")
            if _HAN_NAME.fullmatch(name):
                return name.replace("·", "")  # the dot is not said
    return ""
