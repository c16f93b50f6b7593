"""Targets the voice-call chain reaches by SIP (baresip, drivers/sip): ringing one, and hanging a call up.

baresip 1.0.0 hangs up its *current* call, which `callfind` sets: an INVITE arriving between the two
commands becomes current and is hung up instead, while this call rings on. So a hang-up is repeated
(HANGUP_TRIES) until this call's own CALL_CLOSED has come, and a call whose close never comes is ended
here with what is known. The telephone-number targets that go by the 4G modem are modem_path.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from drivers.sip.control import ControlLost
from hub.voicecall import calls as c
from hub.voicecall.mixer import set_speaker_volume

if TYPE_CHECKING:
    from drivers.sip.agent import BaresipAgent
    from hub.core.context import HubContext
    from hub.voicecall.calls import Call

log = logging.getLogger(__name__)
HANGUP_TRIES = 5  # `hangup` acts on baresip's current call, which an arriving INVITE may take over
Finish = Callable[["Call", str, str], None]  # the component's one place a call ends: (call, reason, detail)


async def ring_by_sip(ctx: HubContext, agent: BaresipAgent, call: Call, timeout: float, v: dict[str, Any],
                      publish: Callable[[], None], hang_up: Callable[[Call, str], Awaitable[None]],
                      finish: Finish) -> bool:
    """Dial one target; True once answered. Every path that returns False has ended the call."""
    ctx.say(f"voice_dialing_{call.who}")
    log.info("voice call: ringing %s %s for %.0f s (target %d)", call.who, call.peer, timeout, call.attempt)
    try:
        await asyncio.wait_for(agent.ready.wait(), timeout)
        answer = await agent.dial(call.peer)
    except (TimeoutError, ControlLost) as exc:
        finish(call, c.UNAVAILABLE, str(exc) or "baresip not running")
        return False
    if not answer.ok:
        finish(call, c.FAILED, answer.data.strip())
        return False
    await set_speaker_volume(v)  # while it rings: the INVITE is not held up by amixer
    publish()
    waiting: set[asyncio.Future[Any]] = {call.answered, call.closed}
    await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if call.answered_at is not None:
        return True
    if not call.closed.done():
        await hang_up(call, c.NO_ANSWER)
    return False  # closed unanswered: busy, declined, unreachable (reported when it closed)


async def hang_up(agent: BaresipAgent, call: Call, reason: str, finish: Finish) -> None:
    """Hang `call` up for `reason` (kept as its `local_reason` unless it has one) and wait for its close."""
    if call.ended:
        return
    call.local_reason = call.local_reason or reason
    try:
        if call.call_id is None:
            await agent.hangup_current()  # no reply from the far end yet, so no id to name it by
        else:
            for _ in range(HANGUP_TRIES):
                answer = await agent.hangup(call.call_id)
                # baresip reports CALL_CLOSED before it answers `hangup`: closed by now, if it was this call
                if call.closed.done() or not answer.ok:
                    break  # hung up, or gone already ("call not found"): its CALL_CLOSED says why
                log.info("voice call: the hang-up of %s closed another call; hanging up again", call.peer[:80])
        await asyncio.wait_for(asyncio.shield(call.closed), 10)
    except (ControlLost, TimeoutError) as exc:
        finish(call, call.local_reason, f"hang-up unconfirmed: {exc}")
