"""Speech after an alarm over SIP: calls the configured targets in turn, answers allowed call-backs.

After a committed `call.raised` (its kind), `alarm.*` (emergency) or `health.alert` (health) event the
hub (a) rings the targets of that kind in order, each for its timeout, until one answers — telling
the resident who it is calling ("正在接通社区值班员") and who answered — and (b) for
`[voice_call] auto_answer_min` after an alarm of `auto_answer_kinds` that is not cancelled, answers a
call-back from a target or an allowed caller hands-free — if it came through the SIP server
(screen.py); strangers are refused and counted in a periodic `voice.refused` (refused.py). Each call
that ends is a `voice.ended` event (who, direction, how long, why); each that was answered was first
a `voice.started`. baresip runs as a supervised child process (drivers/sip; sip_path.py rings a target
and hangs a call up); without it the component reports `voice_call: unavailable (...)`, and
telephone-number targets go by the 4G modem, if one is fitted (modem_path.py), or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from drivers.sip.agent import BaresipAgent
from drivers.sip.control import ControlLost, SipEvent
from hub.config.loader import Config
from hub.core.context import Component, Hardware, HubContext
from hub.core.events import Event
from hub.voicecall import calls as c
from hub.voicecall.calls import Call, close_reason, status_text
from hub.voicecall.mixer import set_speaker_volume
from hub.voicecall.modem_path import has_modem_targets, modem_number, ring_by_modem
from hub.voicecall.rules import settings_from, sip_problem, trigger_kind, who_is
from hub.voicecall.screen import Gate
from hub.voicecall.sip_path import hang_up, ring_by_sip

log = logging.getLogger(__name__)


def build(config: Config, hardware: Hardware) -> Component | None:
    section = config.get("voice_call")
    if not section or (section["account"] is None and not has_modem_targets(config)):
        return None  # no SIP account and no numbers for the modem: no voice calls, nothing started
    return VoiceCallComponent(config)


class VoiceCallComponent:
    name = "voice_call"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.v: dict[str, Any] = config["voice_call"]
        self.settings = settings_from(config)
        self.agent: BaresipAgent | None = None  # None: no SIP (no account, or baresip missing)
        if self.v["account"] is not None:
            self.agent = BaresipAgent(self.settings, config.state_dir / "sip", self._on_sip, self._on_agent_state,
                                      self._on_agent_lost)
        self._ctx: HubContext | None = None
        self._gate = Gate(self.v, self.settings, self._publish)  # who is answered by itself (screen.py)
        self._calls: dict[str, Call] = {}  # by baresip call id
        self._outgoing: Call | None = None  # the chain's current attempt (its id comes with its first reply)
        self._chain: asyncio.Task[None] | None = None
        self._chain_trigger: str | None = None
        self._agent_state = "starting"
        self._closed = False

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._gate.start(ctx)
        if self.agent is None:
            self._agent_state = "no SIP account: telephone numbers by the 4G modem"
        elif (problem := sip_problem(self.settings)) is not None:
            ctx.set_status("voice_call", f"unavailable ({problem})")
            if not has_modem_targets(self.config):
                return
            self.agent, self._agent_state = None, f"SIP unavailable ({problem}): telephone numbers by the 4G modem"
        ctx.on_event(self._on_hub_event)
        self._publish()
        if self.agent is not None:
            ctx.spawn("voice_call.agent", self.agent.run())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ctx is not None:
            await self._gate.close(self._ctx)
        for call in list(self._calls.values()) + ([self._outgoing] if self._outgoing else []):
            call.local_reason = call.local_reason or c.SHUTDOWN
        if self._chain is not None:
            self._chain.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._chain
        if self.agent is not None:
            await self.agent.close()  # baresip hangs up on SIGTERM; on_lost then ends every call

    # --- alarms ---------------------------------------------------------------------------------------
    def _on_hub_event(self, event: Event) -> None:
        if event.type == "call.cancelled":
            self._gate.cancelled(str(event.data.get("call_id")))
            if event.data.get("call_id") == self._chain_trigger:
                self._cancel_chain()
            return
        kind = trigger_kind(event)
        if kind is None or self._closed:
            return
        if self.agent is not None:  # the modem path answers nothing
            self._gate.alarm(event)
        targets = (self.v["targets"] or {}).get(kind) or []
        if not targets:
            self._publish()
            return
        if (self._chain is not None and not self._chain.done()) or self._talking() is not None:
            log.info("voice call: %s %s arrives while a call is under way; not dialling again", event.type, event.id)
            return
        assert self._ctx is not None
        self._chain_trigger = event.id
        self._chain = self._ctx.spawn("voice_call.chain", self._run_chain(targets, event.id))

    def _cancel_chain(self) -> None:
        call = self._outgoing
        if self._chain is None or self._chain.done() or (call is not None and call.answered_at is not None):
            return  # a call already answered stays up: the resident may be talking to the duty desk
        log.info("voice call: the alarm was cancelled; stopping the calls")
        if call is not None:
            call.local_reason = c.CANCELLED
        self._chain.cancel()

    async def _run_chain(self, targets: list[dict[str, Any]], trigger: str) -> None:
        assert self._ctx is not None
        picked_up = False  # someone answered but did not press 1: "无人接听" would contradict "已接听电话"
        for attempt, target in enumerate(targets, 1):
            timeout = float(target.get("timeout_s") or self.v["ring_timeout_s"])
            sip_ready = self.agent is not None and self.agent.ready.is_set()
            number = modem_number(target["uri"], sip_ready) if self._ctx.component("cellular") else None
            call = Call("outgoing", target["who"], number or target["uri"], trigger, attempt,
                        via="sip" if number is None else "modem")
            self._outgoing = call
            try:
                if number is not None:
                    self._publish()
                    if await ring_by_modem(self._ctx, call, number, timeout, self._modem_answered, self._finish):
                        return  # the responder pressed 1
                elif await self._ring(call, timeout):
                    await call.closed  # talking: the chain is done when this call ends
                    return
            except asyncio.CancelledError:
                if call.via == "modem":  # the modem hangs its own call up (hub.cellular)
                    self._finish(call, call.local_reason or c.CANCELLED, "modem call cancelled")
                else:
                    await self._hang_up(call, call.local_reason or c.CANCELLED)
                raise
            finally:
                self._outgoing = None if self._outgoing is call else self._outgoing
                picked_up = picked_up or call.answered_at is not None
        self._ctx.say("voice_nobody_confirmed" if picked_up else "voice_nobody_answered")

    def _modem_answered(self, call: Call) -> None:
        call.mark_answered()
        self._spawn_raise("voice.started", call.started_data())

    async def _ring(self, call: Call, timeout: float) -> bool:
        assert self._ctx is not None and self.agent is not None
        return await ring_by_sip(self._ctx, self.agent, call, timeout, self.v, self._publish, self._hang_up,
                                 self._finish)

    async def _hang_up(self, call: Call, reason: str) -> None:
        if not call.ended:
            assert self.agent is not None  # only SIP calls are hung up here
            await hang_up(self.agent, call, reason, self._finish)

    # --- baresip events -------------------------------------------------------------------------------
    def _on_sip(self, event: SipEvent) -> None:
        if event.klass != "call" or event.call_id is None:
            return
        call = self._calls.get(event.call_id)
        if call is None and event.direction == "outgoing" and self._outgoing is not None \
                and self._outgoing.call_id is None and not self._outgoing.ended:
            call = self._outgoing
            call.call_id = event.call_id
            self._calls[event.call_id] = call
        if event.type == "CALL_INCOMING" and call is None:
            self._incoming(event)
        elif call is None:
            return
        elif event.type == "CALL_ESTABLISHED" and call.stranger:
            # `accept` acts on baresip's current call too: an INVITE that took over between `callfind` and
            # `accept` was answered instead. Not screened, so not kept: hung up, no voice.started
            log.warning("voice call: baresip answered %s, which was not screened; hanging up", call.peer[:80])
            assert self._ctx is not None
            self._ctx.spawn("voice_call.hang_up", self._hang_up(call, c.NOT_ALLOWED))
        elif event.type == "CALL_ESTABLISHED":
            call.mark_answered()
            assert self._ctx is not None
            self._ctx.say(f"voice_connected_{call.who}")
            self._spawn_raise("voice.started", call.started_data())
            self._publish()
        elif event.type == "CALL_CLOSED":
            self._calls.pop(event.call_id, None)
            if self.agent is not None:  # a later INVITE with this Call-ID is judged on its own trace
                self.agent.trace.forget(event.call_id)
            self._finish(call, close_reason(call, event.param), event.param)

    def _incoming(self, event: SipEvent) -> None:
        assert event.call_id is not None and self._ctx is not None
        call = Call("incoming", "caller", event.peer or event.param, None, call_id=event.call_id, stranger=True)
        self._calls[event.call_id] = call
        self._ctx.spawn("voice_call.screen", self._screen(call))

    async def _screen(self, call: Call) -> None:
        """Answer, refuse (voice.ended) or refuse unseen (a stranger, counted in voice.refused)."""
        if self.agent is None or await self._gate.stranger(self.agent, call):
            await self._hang_up(call, c.NOT_ALLOWED)
            return
        window, outgoing = self._gate.windows.current(), self._outgoing
        call.who, call.stranger = who_is(self.v, call.peer) or "caller", False
        call.trigger = window.trigger if window is not None else None
        busy = self._talking() is not None or (outgoing is not None and outgoing.call_id is None)
        refuse = c.OUTSIDE_WINDOW if window is None else c.HUB_BUSY if busy else None
        log.info("voice call: incoming from %s (%s): %s", call.peer, call.who, refuse or "answering")
        await (self._hang_up(call, refuse) if refuse else self._answer(call))

    async def _answer(self, call: Call) -> None:
        """A call-back from someone allowed: the hub's own ringing call gives way to it."""
        if self._chain is not None and not self._chain.done():
            if self._outgoing is not None:
                self._outgoing.local_reason = c.SUPERSEDED
            self._chain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._chain
        assert call.call_id is not None and self.agent is not None
        try:
            answer = await self.agent.accept(call.call_id)
        except ControlLost as exc:
            self._finish(call, c.AGENT_FAILED, str(exc))
            return
        if not answer.ok:
            log.warning("voice call: baresip would not answer %s: %s", call.peer, answer.data.strip())
        await set_speaker_volume(self.v)

    def _talking(self) -> Call | None:
        return next((call for call in self._calls.values() if call.answered_at is not None and not call.ended), None)

    # --- reporting ------------------------------------------------------------------------------------
    def _finish(self, call: Call, reason: str, detail: str) -> None:
        """The one place a call ends: once, whatever told us first (CALL_CLOSED, a failed dial, baresip
        gone). The event is committed by a task started here, in order with the next call's events."""
        if call.ended:
            return
        call.mark_closed(reason)
        if call.call_id is not None:
            self._calls.pop(call.call_id, None)
        if call.stranger:  # counted in voice.refused, never reported one by one
            log.debug("voice call: stranger %s refused: %s", call.peer[:80], detail)
            return
        log.info("voice call %s %s (%s) ended: %s %s", call.direction, call.who, call.peer, reason, detail)
        if self._ctx is None:
            return
        if call.answered_at is not None and call.via == "sip":  # the resident was not on a modem call
            self._ctx.say("voice_call_ended")
        self._publish()
        self._spawn_raise("voice.ended", call.ended_data(reason, detail))

    def _spawn_raise(self, event_type: str, data: dict[str, Any]) -> None:
        if self._ctx is not None:
            self._ctx.spawn(event_type, self._ctx.raise_event(event_type, data))

    def _on_agent_state(self, state: str) -> None:
        self._agent_state = state
        self._publish()

    def _on_agent_lost(self) -> None:
        """baresip went away: every call it carried is over."""
        for call in list(self._calls.values()) + ([self._outgoing] if self._outgoing else []):
            if not call.ended:
                self._finish(call, call.local_reason or c.AGENT_FAILED, "baresip stopped")
        self._calls.clear()

    def _publish(self) -> None:
        if self._ctx is not None:
            self._ctx.set_status("voice_call", status_text(self._agent_state, self._talking(), self._outgoing,
                                                           self._gate.windows.left_s()), now=True)
