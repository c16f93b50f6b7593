"""What the voice-call component decides from the config alone: which alarms call whom, who may be
answered, and the settings baresip runs with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.sip.setup import AgentSettings
from drivers.sip.uri import same_party
from hub.config.loader import Config
from hub.core.events import Event


def trigger_kind(event: Event) -> str | None:
    """The target list an event calls for (a `[voice_call] targets` kind), or None: not an alarm."""
    if event.type == "call.raised":
        return str(event.data.get("kind") or "emergency")
    if event.type.startswith("alarm.") and not event.type.endswith("_cleared"):
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
    v = config["voice_call"]
    dump = v["audio_dump_dir"]
    return AgentSettings(
        account=v["account"], password=v["password"], auth_user=v["auth_user"], display_name=v["display_name"],
        register=v["register"], register_interval_s=v["register_interval_s"], outbound=v["outbound"],
        listen=v["listen"], rtp_ports=v["rtp_ports"], audio_source=v["audio_source"],
        audio_player=v["audio_player"], echo_cancel=v["echo_cancel"], dump_dir=Path(dump) if dump else None,
        binary=v["baresip"])
