"""What the voice-call component decides from the config alone: which alarms call whom, who may be
answered, and the settings baresip runs with."""

from __future__ import annotations

import logging
from typing import Any

from drivers.sip.agent import Unavailable, check_installed
from drivers.sip.setup import AgentSettings, echo_cancel_available, find_module_dir, settings_from_section
from drivers.sip.uri import same_party
from hub.config.loader import Config
from hub.core.events import Event

log = logging.getLogger(__name__)


def trigger_kind(event: Event) -> str | None:
    """The target list an event calls for (a `[voice_call] targets` kind), or None: not an alarm."""
    if event.type == "call.raised":
        return str(event.data.get("kind") or "emergency")
    # An alarm's clearing or acknowledgement (alarm.acknowledged, hub.alarms.registry) calls no one.
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


def sip_problem(settings: AgentSettings) -> str | None:
    """Why baresip cannot run (logged with the remedy), or None; says once if echo cancellation is missing."""
    try:
        check_installed(settings)
    except Unavailable as exc:
        log.error("voice calls unavailable: %s; install it with `sudo apt-get install baresip-core`", exc)
        return str(exc)
    if settings.echo_cancel and not echo_cancel_available(find_module_dir()):
        log.warning("echo cancellation unavailable: baresip's webrtc_aec module is not installed (Debian's "
                    "baresip-core does not package it); fit a speakerphone that cancels echo itself and set "
                    "[voice_call] echo_cancel = false")
    return None
