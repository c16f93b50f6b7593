"""What the voice-call component decides from the config alone: which alarms call whom, who may be
answered, and the settings baresip runs with."""

from __future__ import annotations

from typing import Any

from drivers.sip.setup import AgentSettings, settings_from_section
from drivers.sip.uri import same_party
from hub.config.loader import Config
from hub.core.events import Event


def trigger_kind(event: Event) -> str | None:
    """The target list an event calls for (a `[voice_call] targets` kind), or None: not an alarm."""
    if event.type == "call.raised":
        return str(event.data.get("kind") or "emergency")
    # An alarm's clearing or acknowledgement (alarm.acknowledged, hub.core.alarms) calls no one.
    if event.type.startswith("alarm.") and not event.type.endswith(("_cleared", ".acknowledged")):
        return "emergency"
    if event.type == "health.alert":
        return "health"
    return None


def who_is(v: dict[str, Any], peer: str) -> str | None:
    """A caller's role if they may be auto-answered: a target's `who`, "caller" for an entry of
    allowed_callers, None for anyone else."""
    for chain in (v["targets"] or {}).values():
        for target in chain:
            if same_party(peer, target["uri"]):
                return str(target["who"])
    return "caller" if any(same_party(peer, allowed) for allowed in v["allowed_callers"]) else None


def settings_from(config: Config) -> AgentSettings:
    return settings_from_section(config["voice_call"])
