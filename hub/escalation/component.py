"""The escalation chain, running. An alarm the platform has not acknowledged `[escalation] after_s` after
it was raised (whether the platform is ignoring it or cannot be reached at all) is worked down the
configured steps: each step's people get the alarm's SMS short form and a voice call through the 4G
modem, then the hub waits the step's `wait_s` for an acknowledgement before the next step. The first
acknowledgement by any path (the platform's `cmd/ack`, an SMS reply "1", a "1" pressed in a call) ends
the chain, and the resident hears who has it: "社区值班员已收到，请稍候", or, for a step whose config says
its person comes (`comes = true`), "女儿已收到，正在赶来帮您". An alarm withdrawn by its owner (a cancelled
call) ends it too. An SMS "1" acknowledges the alarm texted to its sender last, only while that step
waits (its `wait_s`); "1#CODE" names the alarm, for any step reached (hub/cellular/replies.py decides
between these and the cellular second path's texts).

Every text and call is an `escalation.step` event and every chain ends with one `escalation.ended`, so
the platform can audit response times. Where a chain is lives in `state_dir/escalation-chains.json`
(hub.escalation.state), written before each text or call is tried: after a restart the chain goes on
from there, and never texts or calls anyone twice. The modem is reached duck-typed (hub.escalation.reach);
without one, a step's texts and calls are reported `unavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.alarms.sms_form import same_number, short_code, short_form
from hub.alarms.store import OpenAlarm
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event
from hub.escalation import reach, state
from hub.escalation import steps as s
from hub.escalation.steps import Progress, Step

log = logging.getLogger(__name__)
ACKS = ("call.acknowledged", "alarm.acknowledged", "health.acknowledged", "power.acknowledged")
# One "社区还没有回应，正在通知女儿" for chains that reach the same person within this long (two alarms at once:
# she heard it twice, six seconds apart, and again for a third alarm 57 s later)
NOTIFY_QUIET_S = 60.0


class Escalation:
    name = "escalation"

    def __init__(self, config: Config) -> None:
        e = config["escalation"]
        self.after_s = float(e["after_s"])
        self.steps = [Step.from_config(raw) for raw in e["steps"]]
        self.hub_id = config["hub"]["id"]
        self.resident_ref = (config.get("resident") or {}).get("reference") or config["hub"]["resident_ref"]
        self.path: Path = config.state_dir / "escalation-chains.json"
        self._ctx: HubContext | None = None
        self._chains: dict[str, Progress] = {}  # alarm id -> where its chain is (saved)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._opening: dict[str, Event] = {}  # alarm id -> its opening event (for the SMS card)
        self._acks: dict[str, dict[str, Any]] = {}  # alarm id -> the ack event's data
        self._wake = asyncio.Event()  # the watch looks at the open alarms again
        self._signals: dict[str, asyncio.Event] = {}  # alarm id -> its chain looks again
        self._closed = False
        self._notified: dict[str, float] = {}  # step name -> when the resident last heard "正在通知{name}"

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._chains = await asyncio.to_thread(state.load, self.path)
        ctx.on_event(self._on_event)
        cellular = ctx.component("cellular")
        if cellular is not None and hasattr(cellular, "on_sms"):
            cellular.on_sms(self._on_sms)
        ctx.spawn("escalation_chain.watch", self._watch())
        self._publish()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()

    # --- what the hub tells us --------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if "context" in event.data:  # an alarm's opening event: it carries the context card
            self._opening[event.id] = event
        if event.type in ACKS:
            alarm_id = event.data.get("call_id") or event.data.get("alarm_id")
            if alarm_id:
                self._acks[str(alarm_id)] = event.data
        self._poke()

    def _on_sms(self, sender: str, code: str | None) -> list[Any] | None:
        """An SMS "1" (`code`: "1#CODE") reached the modem (hub.cellular.replies): the alarms it may acknowledge,
        (when `sender` was reached, alarm id, take); None if `sender` is in no step."""
        if not any(same_number(sender, n) for step in self.steps for n in (*step.sms, *step.call)):
            return None
        now, claims = self._require_ctx().clock.now().timestamp(), []
        for progress in list(self._chains.values()):
            step = s.reached_by(progress, self.steps, sender, same_number, None if code else now)
            if step is None or (code and short_code(progress.alarm_id) != code[:4]):
                continue

            async def take(by: str, message: str | None, progress: Progress = progress, step: Step = step) -> bool:
                if self._settled(progress.alarm_id):  # closed, or someone has it already
                    return False
                return await self._acknowledge(progress, step, by, message, "sms")

            claims.append((progress.step_since or progress.opened, progress.alarm_id, take))
        return claims

    # --- the chains -------------------------------------------------------------------------------
    async def _watch(self) -> None:
        """Start a chain for every open alarm not acknowledged (restored ones too); finish the others."""
        ctx = self._require_ctx()
        while not self._closed:
            self._wake.clear()
            alarms = {a.id: a for a in ctx.alarms.open_alarms()}
            for alarm in alarms.values():
                known = self._chains.get(alarm.id)
                if alarm.id in self._tasks or (known is not None and known.ended) or alarm.acknowledged \
                        or not s.escalated(alarm.type, alarm.facts.get("kind")):
                    continue
                self._spawn(known or self._new(alarm))
            for alarm_id, progress in list(self._chains.items()):
                if alarm_id in alarms or alarm_id in self._tasks:
                    continue
                if progress.ended:  # its alarm is closed: nothing more to remember
                    del self._chains[alarm_id]
                    await self._save()
                else:  # closed while the hub was down, or just now: report how the chain ended
                    self._spawn(progress)
            for remembered in (self._opening, self._acks):  # only what a chain may still need
                for alarm_id in [a for a in remembered if a not in alarms and a not in self._tasks]:
                    del remembered[alarm_id]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=5.0)

    def _spawn(self, progress: Progress) -> None:
        self._signals[progress.alarm_id] = asyncio.Event()
        self._tasks[progress.alarm_id] = self._require_ctx().spawn(f"escalation_chain.{progress.alarm_id[:8]}",
                                                                   self._run(progress))

    def _poke(self) -> None:
        self._wake.set()
        for signal in self._signals.values():
            signal.set()

    def _new(self, alarm: OpenAlarm) -> Progress:
        event = self._opening.get(alarm.id)
        if event is not None:
            text = short_form(event.type, event.data, event.id, event.ts, self.hub_id, self.resident_ref)
        else:  # restored from before a restart: the card went with the event, the head is enough
            ts = datetime.fromisoformat(alarm.since)
            text = short_form(alarm.type, dict(alarm.facts), alarm.id, ts, self.hub_id, self.resident_ref)
        return Progress(alarm.id, alarm.type, alarm.opened, text)

    async def _run(self, progress: Progress) -> None:
        ctx = self._require_ctx()
        signal = self._signals[progress.alarm_id]
        try:
            for key, channel, numbers in s.interrupted(progress, self.steps):  # the hub stopped mid-action
                await self._step_event(progress, self.steps[progress.step], channel, numbers, "interrupted",
                                       "the hub restarted during this action; not repeated", key=key)
            while True:
                signal.clear()
                if await self._over(progress):
                    return
                now = ctx.clock.now().timestamp()
                action = s.next_action(progress, self.steps, self.after_s, now)
                if isinstance(action, s.Wait):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(signal.wait(), timeout=max(0.05, action.until - now))
                    continue
                if isinstance(action, s.Exhausted):
                    await self._end(progress, "exhausted")
                    ctx.say("escalation_nobody", about=progress.alarm_id)
                    return
                if isinstance(action, s.Advance):
                    s.advance(progress)
                    await self._save()
                    continue
                first = not progress.done
                s.mark(progress, action, now)
                self._chains[progress.alarm_id] = progress
                await self._save()  # before trying: a restart never texts or calls twice
                if first and now - self._notified.get(action.step.name, -NOTIFY_QUIET_S) >= NOTIFY_QUIET_S:
                    self._notified[action.step.name] = now  # two alarms' chains reach her daughter together
                    ctx.say("escalation_notifying", name=action.step.name, about=progress.alarm_id)
                self._publish()
                await self._reach(progress, action)
                await self._save()  # with the outcome reported
        finally:
            self._tasks.pop(progress.alarm_id, None)
            self._signals.pop(progress.alarm_id, None)
            self._publish()

    def _settled(self, alarm_id: str) -> bool:
        alarm = self._require_ctx().alarms.get(alarm_id)
        return alarm is None or alarm.acknowledged

    async def _over(self, progress: Progress) -> bool:
        """The chain's alarm was acknowledged or closed: report how the chain ended."""
        alarm = self._require_ctx().alarms.get(progress.alarm_id)
        if alarm is not None and not alarm.acknowledged:
            return False
        ack = self._acks.get(progress.alarm_id)
        if ack is not None or (alarm is not None and alarm.acknowledged):
            by = (ack or {}).get("by") or (alarm.by if alarm else None)
            await self._end(progress, "acknowledged", by=by, via=(ack or {}).get("via") or "platform")
        else:
            await self._end(progress, "withdrawn")
        return True

    async def _reach(self, progress: Progress, action: s.Text | s.Dial) -> None:
        step = action.step
        if isinstance(action, s.Text):
            got = await reach.text(self._modem(), list(step.sms), progress.text)
        else:
            got = await reach.call(self._modem(), action.number, step.ring_s, self._require_ctx().spawn,
                                   self._signals[progress.alarm_id], lambda: self._settled(progress.alarm_id))
        channel = "sms" if isinstance(action, s.Text) else "voice"
        await self._step_event(progress, step, channel, got.to, got.outcome, got.detail, talk_s=got.talk_s)
        if got.outcome == "acknowledged":
            await self._acknowledge(progress, step, got.to[0], None, "voice")

    async def _acknowledge(self, progress: Progress, step: Step, by: str, message: str | None, via: str) -> bool:
        """Someone of the chain took the alarm: the registry commits the ack; the resident hears who."""
        ctx = self._require_ctx()
        said = "escalation_coming" if step.comes else "escalation_received"  # a desk's "1" says it has it
        taken = await ctx.alarms.ack(progress.alarm_id, by, message, named=False, via=via,
                                     tell=(said, {"name": step.name}))
        self._poke()
        return taken

    async def _end(self, progress: Progress, outcome: str, by: str | None = None, via: str | None = None) -> None:
        ctx = self._require_ctx()
        started = progress.step_since is not None or bool(progress.reached)
        if not started and outcome != "exhausted":
            return  # acknowledged or withdrawn before after_s: no chain ran, nothing to report
        progress.ended = outcome
        self._chains[progress.alarm_id] = progress
        await self._save()
        step = self.steps[min(progress.step, len(self.steps) - 1)] if self.steps else None
        data: dict[str, Any] = {
            "event_id": progress.alarm_id, "alarm_type": progress.alarm_type, "outcome": outcome,
            "steps_reached": len(progress.reached),
            "seconds": round(ctx.clock.now().timestamp() - progress.opened, 1)}
        if outcome == "acknowledged":
            data.update(by=by, via=via)
            who = self._who(by) if by else None
            if who is not None:
                data.update(step=self.steps.index(who), role=who.role, name=who.name)
        elif step is not None:
            data.update(step=min(progress.step, len(self.steps) - 1))
        log.info("escalation for %s %s ended: %s", progress.alarm_type, progress.alarm_id, outcome)
        await ctx.raise_event("escalation.ended", data)

    def _who(self, by: str) -> Step | None:
        return next((st for st in self.steps if any(same_number(by, n) for n in (*st.sms, *st.call))), None)

    async def _step_event(self, progress: Progress, step: Step, channel: str, to: list[str], outcome: str,
                          detail: str | None, talk_s: float | None = None, key: str | None = None) -> None:
        ctx = self._require_ctx()
        progress.reported.append(key or progress.done[-1])
        data: dict[str, Any] = {
            "event_id": progress.alarm_id, "alarm_type": progress.alarm_type, "step": progress.step,
            "role": step.role, "name": step.name, "channel": channel, "to": to, "outcome": outcome,
            "seconds": round(ctx.clock.now().timestamp() - progress.opened, 1)}
        if detail:
            data["detail"] = detail
        if talk_s is not None:
            data["talk_s"] = talk_s
        await ctx.raise_event("escalation.step", data)

    # --- state ------------------------------------------------------------------------------------
    async def _save(self) -> None:
        await state.save(self.path, list(self._chains.values()))

    def _modem(self) -> reach.Modem | None:
        cellular = self._require_ctx().component("cellular")
        return cellular if cellular is not None and hasattr(cellular, "send_sms") else None

    def _publish(self) -> None:
        if self._ctx is not None:
            self._ctx.set_status("escalation", state.status(self._chains.values(), self.steps, self.after_s,
                                                            self._ctx.clock.now().tzinfo))

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "escalation not started"
        return self._ctx


def build(config: Config, hardware: Hardware) -> Escalation | None:
    section = config.get("escalation")
    return Escalation(config) if section and section["enabled"] and section["steps"] else None
