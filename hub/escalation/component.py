"""The escalation chain, running. An alarm the platform has not acknowledged `[escalation] after_s` after
it was raised (whether the platform is ignoring it or cannot be reached at all) is worked down the
configured steps: each step's people get the alarm's SMS short form and a voice call through the 4G
modem, then the hub waits the step's `wait_s` for an acknowledgement before the next step. The first
acknowledgement by any path (the platform's `cmd/ack`, an SMS reply "1", a "1" pressed in a call) ends
the chain, and the resident hears who is coming ("已通知女儿，女儿正在赶来"). An alarm withdrawn by
its owner (a cancelled call) ends it too.

Every text and call is an `escalation.step` event and every chain ends with one `escalation.ended`, so
the platform can audit response times. Where a chain is lives in `state_dir/escalation-chains.json`, written
atomically before each text or call is tried: after a restart the chain goes on from there, and never
texts or calls anyone twice. The modem is reached duck-typed (`ctx.component("cellular")`, the
`Modem` protocol below); without one, a step's texts and calls are reported `unavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from hub.config.loader import Config
from hub.core.alarm_store import OpenAlarm
from hub.core.card_text import is_ack, same_number, short_form
from hub.core.context import Hardware, HubContext
from hub.core.events import Event, iso_ms
from hub.core.files import atomic_write
from hub.escalation import steps as s
from hub.escalation.steps import Progress, Step

log = logging.getLogger(__name__)
# Cellular.dial() reasons (hub/cellular/voice.py) that say no call could be placed, or the modem failed
UNAVAILABLE, FAILED = ("no_modem", "not_registered"), ("modem_fault",)
ACKS = ("call.acknowledged", "alarm.acknowledged", "health.acknowledged", "power.acknowledged")


class Modem(Protocol):
    """What the chain needs of the cellular component (hub.cellular)."""

    async def send_sms(self, numbers: list[str], text: str) -> list[str]: ...

    async def dial(self, number: str, *, event_id: str | None, ring_s: float,
                   prompt: str | None = None) -> dict[str, Any]:
        """{"number", "answered", "acknowledged" (pressed 1), "seconds" (talk), "reason"}"""
        ...


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

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._chains = await asyncio.to_thread(self._load)
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

    async def _on_sms(self, sender: str, body: str) -> bool:
        """An SMS reached the modem (hub.cellular): "1" from someone this chain texted or called acks it."""
        if not is_ack(body):
            return False
        taken = False
        for progress in list(self._chains.values()):
            step = s.reached_by(progress, self.steps, sender, same_number)
            if step is not None:
                taken |= await self._acknowledge(progress, step, sender, body.strip()[:100] or None, "sms")
        return taken

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
                    ctx.say("escalation_nobody")
                    return
                if isinstance(action, s.Advance):
                    s.advance(progress)
                    await self._save()
                    continue
                first = not progress.done
                s.mark(progress, action, now)
                self._chains[progress.alarm_id] = progress
                await self._save()  # before trying: a restart never texts or calls twice
                if first:
                    ctx.say("escalation_notifying", name=action.step.name)
                self._publish()
                if isinstance(action, s.Text):
                    await self._text(progress, action.step)
                else:
                    await self._dial(progress, action)
                await self._save()  # with the outcome reported
        finally:
            self._tasks.pop(progress.alarm_id, None)
            self._signals.pop(progress.alarm_id, None)
            self._publish()

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

    async def _text(self, progress: Progress, step: Step) -> None:
        modem = self._modem()
        if modem is None:
            await self._step_event(progress, step, "sms", list(step.sms), "unavailable", "no modem")
            return
        try:
            sent = await modem.send_sms(list(step.sms), progress.text)
        except Exception as exc:  # the modem's own faults: reported, and the chain goes on
            log.warning("escalation: SMS to %s failed: %s", step.name, exc)
            await self._step_event(progress, step, "sms", list(step.sms), "failed", str(exc)[:120])
            return
        outcome = "sent" if len(sent) == len(step.sms) else "partly_sent" if sent else "failed"
        await self._step_event(progress, step, "sms", list(sent) or list(step.sms), outcome, None)

    async def _dial(self, progress: Progress, action: s.Dial) -> None:
        modem = self._modem()
        if modem is None or not hasattr(modem, "dial"):
            await self._step_event(progress, action.step, "voice", [action.number], "unavailable",
                                   "no modem voice calls")
            return
        try:
            # event_id=None: the chain commits the ack itself, so the resident hears who is coming
            result = await modem.dial(action.number, event_id=None, ring_s=action.step.ring_s,
                                      prompt="escalation_answered")
        except Exception as exc:
            log.warning("escalation: call to %s failed: %s", action.step.name, exc)
            await self._step_event(progress, action.step, "voice", [action.number], "failed", str(exc)[:120])
            return
        reason = str(result.get("reason") or "")
        outcome = "acknowledged" if result.get("acknowledged") else "answered" if result.get("answered") else \
            "unavailable" if reason in UNAVAILABLE else "failed" if reason in FAILED else "no_answer"
        await self._step_event(progress, action.step, "voice", [action.number], outcome, result.get("reason"),
                               talk_s=result.get("seconds"))
        if result.get("acknowledged"):
            await self._acknowledge(progress, action.step, action.number, None, "voice")

    async def _acknowledge(self, progress: Progress, step: Step, by: str, message: str | None, via: str) -> bool:
        """Someone of the chain took the alarm: the registry commits the ack; the resident hears who."""
        ctx = self._require_ctx()
        taken = await ctx.alarms.ack(progress.alarm_id, by, message, named=False, via=via,
                                     tell=("escalation_coming", {"name": step.name}))
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
    def _load(self) -> dict[str, Progress]:
        try:
            raw = json.loads(self.path.read_text())
            return {p["alarm_id"]: Progress.from_dict(p) for p in raw.get("chains", [])}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("escalation state %s unreadable (%s): chains start afresh", self.path, exc)
            return {}

    async def _save(self) -> None:
        body = json.dumps({"chains": [p.as_dict() for p in self._chains.values()]}, ensure_ascii=False)
        try:
            await asyncio.to_thread(atomic_write, self.path, body.encode())
        except OSError as exc:  # a failing card (hub.core.store): the chain still runs, from memory
            log.error("escalation state not saved to %s (%s): a restart may repeat a text", self.path, exc)

    def _modem(self) -> Modem | None:
        cellular = self._require_ctx().component("cellular")
        return cellular if cellular is not None and hasattr(cellular, "send_sms") else None

    def _publish(self) -> None:
        if self._ctx is None:
            return
        zone = self._ctx.clock.now().tzinfo
        chains = []
        for p in self._chains.values():
            if p.ended:
                continue
            step = self.steps[p.step] if p.step < len(self.steps) else None
            until = p.step_since + step.wait_s if step is not None and p.step_since is not None else None
            chains.append({"event_id": p.alarm_id, "alarm_type": p.alarm_type, "step": p.step,
                           "of": len(self.steps), "role": step.role if step else None,
                           "name": step.name if step else None, "done": list(p.done),
                           "next_step_at": iso_ms(datetime.fromtimestamp(until, zone)) if until else None})
        self._ctx.set_status("escalation", {"after_s": self.after_s, "chains": chains})

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "escalation not started"
        return self._ctx


def build(config: Config, hardware: Hardware) -> Escalation | None:
    section = config.get("escalation")
    return Escalation(config) if section and section["enabled"] and section["steps"] else None
