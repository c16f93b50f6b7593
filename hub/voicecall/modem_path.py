"""Targets the voice-call chain reaches by the 4G modem instead of SIP.

With a modem fitted ([modem] port), a target goes by it when its `uri` is a `tel:` number (always), or a
telephone number ("+86…",
"138…", or a SIP URI whose user part is one) while SIP is not configured or not working (baresip
missing, not registered). The modem carries no speech to or from the hub: the responder is asked to
press 1 ("按1确认"), which acknowledges the alarm (via "voice"), and the resident hears locally that the
responder has picked up. An answer without a 1 (a voicemail box, a pocket) does not end the chain.

hub.voicecall must not import hub.cellular (capability packages never import each other:
tests/test_layout.py, and either may be fitted without the other), so the modem is found when a call
is due with ctx.component("cellular") and used through the `Dialer` protocol below, duck-typed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from hub.voicecall import calls as c

if TYPE_CHECKING:  # hub/voicecall/schema.py imports this module while the config is loaded
    from hub.config.loader import Config
    from hub.core.context import HubContext
    from hub.voicecall.calls import Call

log = logging.getLogger(__name__)
_TEL = re.compile(r"^\+?[0-9]{5,20}$")
_SIP_USER = re.compile(r"^sips?:(\+?[0-9]{7,20})@", re.IGNORECASE)  # shorter user parts are PBX extensions
# Cellular.dial() reasons -> voice.ended reasons (docs/schemas/voice.ended.json)
ENDED = {"acknowledged": c.ACKNOWLEDGED, "hung_up": c.NOT_ACKNOWLEDGED, "no_answer": c.NO_ANSWER, "busy": c.BUSY,
         "no_carrier": c.FAILED, "modem_fault": c.FAILED, "no_modem": c.UNAVAILABLE, "not_registered": c.UNAVAILABLE}


class Dialer(Protocol):
    """What hub.voicecall needs of hub.cellular's component (its public API)."""

    async def dial(self, number: str, *, event_id: str | None, ring_s: float, prompt: str | None = None,
                   on_answered: Callable[[], None] | None = None) -> dict[str, Any]: ...


def find_dialer(component: Any) -> Dialer | None:
    """The cellular component (ctx.component("cellular")) if it is running and can dial."""
    return component if component is not None and callable(getattr(component, "dial", None)) else None


def forced(uri: str) -> bool:
    """`tel:` targets always go by the modem when one is fitted (without one, SIP dials them as before)."""
    return uri.strip().lower().startswith("tel:")


def telephone_number(uri: str) -> str | None:
    """The number to dial for a target, or None if it is not a telephone number (a SIP address)."""
    text = uri.strip().replace(" ", "").replace("-", "")
    if text.lower().startswith("tel:"):
        text = text[4:]
    if _TEL.match(text):
        return text
    m = _SIP_USER.match(text)
    return m.group(1) if m else None


def modem_number(uri: str, sip_ready: bool) -> str | None:
    """The number to ring by the modem for this target now, or None: SIP (or nothing) reaches it."""
    number = telephone_number(uri)
    if number is None:
        return None
    return number if forced(uri) or not sip_ready else None


def outcome(result: dict[str, Any]) -> tuple[str, str]:
    """(voice.ended reason, detail) for what Cellular.dial() returned."""
    reason = str(result.get("reason"))
    return ENDED.get(reason, c.FAILED), f"modem: {reason}"


def has_modem_targets(config: Config) -> bool:
    """A modem is fitted and some `[voice_call] targets` entry is a telephone number it can ring."""
    chains = (config["voice_call"]["targets"] or {}).values()
    return bool(config["modem"]["port"]) and any(telephone_number(t["uri"]) for chain in chains for t in chain)


async def ring_by_modem(ctx: HubContext, call: Call, number: str, timeout: float,
                        answered: Callable[[Call], None]) -> tuple[bool, str, str]:
    """Ring one target by the 4G modem: (the responder pressed 1, voice.ended reason, detail). The resident
    hears who is being rung, then that they picked up (`voice_phoned_<who>`): the speech is not theirs."""
    ctx.say(f"voice_dialing_{call.who}")
    dialer = find_dialer(ctx.component("cellular"))
    if dialer is None:
        return False, c.UNAVAILABLE, "no 4G modem running"
    log.info("voice call: ringing %s %s by the modem for %.0f s (target %d)", call.who, number, timeout, call.attempt)
    result = await dialer.dial(number, event_id=call.trigger, ring_s=timeout, prompt=f"voice_phoned_{call.who}",
                               on_answered=lambda: answered(call))
    return bool(result.get("acknowledged")), *outcome(result)
