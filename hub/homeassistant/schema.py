"""The `[homeassistant]` section: the optional Home Assistant bridge (off by default)."""

from __future__ import annotations

import re
from typing import Any

from hub.config.keys import Key, Section

HOMEASSISTANT = Section(
    "homeassistant",
    "Home Assistant for families: discovery documents and states a relative's Home Assistant reads, "
    "through a bridge the platform runs (optional).",
    {
        "enabled": Key(False, "Publish Home Assistant discovery documents and states."),
        "bridge_prefix": Key(
            "eldercare-bridge/{hub}",
            "Topic prefix of the states, given by the platform ({hub} = this hub's id); the platform "
            "bridges it (and discovery_prefix/…/{hub}/…) to the family's broker.",
        ),
        "discovery_prefix": Key("homeassistant", "Home Assistant's MQTT discovery prefix."),
        "device_name": Key(
            "",
            "Name of the device in Home Assistant ('' = 居家养老终端 and the hub id).",
            example="王阿姨家 Grandma Wang's home",
        ),
        "activity_every_s": Key(
            60, "Last activity is published at most this often (motion can come every second).", min=5, max=3600
        ),
    },
)

SECTIONS: list[Section] = [HOMEASSISTANT]

_TOPIC = re.compile(r"^[^#+/\x00][^#+\x00]*(?<!/)$")


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    """Prefixes are plain topic levels: no wildcards, no leading or trailing '/'."""
    section = cfg["homeassistant"]
    out = []
    for key in ("bridge_prefix", "discovery_prefix"):
        value = section[key].replace("{hub}", "hub")
        if not _TOPIC.match(value) or "{" in value or "}" in value:
            out.append((f"homeassistant.{key}", f"{section[key]!r} is not a topic prefix: use levels separated by "
                        "'/', without '+', '#', a leading or trailing '/', and no placeholder but {hub}"))
    return out
