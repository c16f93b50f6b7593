"""Open alarms: every alarm the hub raises waits for the platform's `cmd/ack`, whoever raised it.

A capability opens an alarm through the context (`ctx.open_alarm`: a call, a fire, a fall...), changes
it with the events that concern it (`ctx.alarm_event`: escalated, cleared, cancelled) and tells the
registry how to escalate it (`ctx.handle_alarms`). The registry owns the acknowledgement: on `cmd/ack`
it commits `<category>.acknowledged` first (`call.acknowledged`, `alarm.acknowledged`,
`health.acknowledged`, `power.acknowledged`) and only then closes the alarm and tells the resident who
has it. Every change is written to the outbox database in the transaction of its event
(hub.alarms.store), and one change runs at a time, so what the resident hears, the open-alarm
list on disk and the queue never disagree: a commit that fails changes nothing and can be retried.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.alarms import store as alarm_store
from hub.alarms.acked import AckedLately
from hub.alarms.acknowledgement import ACKNOWLEDGED, ack_data, operator_names, spoken_name
from hub.alarms.facts import AlarmFacts
from hub.alarms.reminders import SCHEDULE_S, Reminders
from hub.alarms.store import OpenAlarm
from hub.alarms.words import AckLines
from hub.core.events import Event, category_of, iso_ms
from hub.core.loglimit import PerCause
from hub.core.outbox import StateChange

if TYPE_CHECKING:
    from hub.core.context import HubContext

log = logging.getLogger(__name__)

# (alarm, seconds it has waited so far, also across a restart) -> runs until the alarm is acknowledged
Escalate = Callable[[OpenAlarm, float], Coroutine[Any, Any, None]]
AlarmListener = Callable[[OpenAlarm], None]
Commit = Callable[[Event, "StateChange | None"], Coroutine[Any, Any, Event]]
Transact = Callable[[Callable[[Any], Any]], Any]


@dataclass
class Handlers:
    escalate: Escalate | None = None
    acknowledged: AlarmListener | None = None


class AlarmRegistry:
    def __init__(self, ctx: HubContext, commit: Commit, state_dir: Path,
                 changed: Callable[[], None] = lambda: None) -> None:
        self.ctx = ctx
        self._commit = commit
        self._legacy = state_dir / "open_calls.json"
        self._changed = changed
        self._quiet = PerCause(log)  # cmd/ack lines: one per cause a minute, ids clipped
        self._open: dict[str, OpenAlarm] = {}  # alarm id -> alarm, in opening order
        self._mono: dict[str, float] = {}  # alarm id -> monotonic time it opened (this run's clock)
        self._handlers: dict[str, Handlers] = {}
        self._escalations: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()  # one transition at a time: an ack never races a cancel
        # Adds the alarm context card to an opening event's data (hub.alarms.card).
        self.enrich: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda event_type, data: data
        # What is true of each alarm (saved, sent, received…): what prompts claim is checked on it (hub.speech.claims)
        self.facts = AlarmFacts(self._is_pending, lambda: bool(self.ctx.online))
        self.ack_lines = AckLines(ctx.config["hub"]["timezone"])  # which alarm "社区已收到" is about
        self.reminders = Reminders(ctx, self._is_pending, lambda ids: self.ack_lines.apart(  # one merged reminder
            [a for a in map(self._open.get, ids) if a is not None]))
        self.acked = AckedLately()  # for the console: "already acknowledged" rather than "not open"

    # --- start-up ---------------------------------------------------------------------------------
    def load(self, transact: Transact) -> None:
        """Restore open alarms from the outbox database (once moving a legacy open_calls.json in)."""
        try:
            alarms, closed = transact(alarm_store.load)
            legacy = [a for a in alarm_store.legacy_calls(self._legacy) if a.id not in {b.id for b in alarms}]
            if legacy:
                transact(lambda conn: [alarm_store.write(a)(conn) for a in legacy])
                alarms += legacy
                log.info("moved %d open call(s) from %s into the outbox database", len(legacy), self._legacy)
            if self._legacy.exists():
                os.replace(self._legacy, self._legacy.with_name(self._legacy.name + ".migrated"))
        except (sqlite3.Error, OSError) as exc:
            # A failed card (hub.core.store): the hub still runs; new alarms are kept in memory.
            log.error("open alarms cannot be read from the outbox database (%s): none restored", exc)
            alarms, closed = [], []
        self.ctx.on_delivered(self.facts.delivered)
        try:  # what is still in the outbox has no PUBACK yet; the rest was delivered before the restart
            # Alarms travel as urgent rows, keyed first (hub.core.outbox_file): a range of the table, not
            # a scan of a long outage's backlog.
            unsent = transact(lambda conn: {row[0] for row in conn.execute(
                "SELECT id FROM queue WHERE k < ?", (1 << 48,))})
        except (sqlite3.Error, OSError):
            unsent = None
        wall, mono = self.ctx.clock.now().timestamp(), self.ctx.clock.monotonic()
        self.ack_lines.restore(closed, wall, mono)  # closed lately, before the restart
        self.acked.restore(closed)
        for alarm in alarms:
            # Nobody is watching an old condition any more: if it is still there, its capability
            # raises it again and the new event joins this alarm.
            alarm = alarm.but(present=False)
            if alarm.closed:
                transact(alarm_store.write(alarm))
                log.info("alarm %s %s was acknowledged and its condition is not seen since the restart: "
                         "closed", alarm.type, alarm.id)
                continue
            self._open[alarm.id] = alarm
            self._mono[alarm.id] = mono - min(max(0.0, wall - alarm.opened), 7 * 86400.0)
            for event_id in alarm.ids:
                self.facts.opened(alarm.id, event_id, saved=True, sent=unsent is not None and event_id not in unsent)
        if self._open:
            log.info("restored %d open alarm(s): %s", len(self._open),
                     ", ".join(f"{a.type} {a.id}" for a in self._open.values()))
        self._publish()

    def handle(self, alarm_type: str, escalate: Escalate | None = None,
               acknowledged: AlarmListener | None = None) -> None:
        self._handlers[alarm_type] = Handlers(escalate, acknowledged)
        for alarm in list(self._open.values()):  # restored ones: their escalation goes on
            if alarm.type == alarm_type:
                self._start_escalation(alarm)

    # --- queries ----------------------------------------------------------------------------------
    def get(self, ref: str) -> OpenAlarm | None:
        """The open alarm with this id, a joined event's id, or this key."""
        found = self._open.get(ref)
        if found is None:
            found = next((a for a in self._open.values() if ref in a.aliases or a.key == ref), None)
        return found

    def open_alarms(self, alarm_type: str | None = None) -> list[OpenAlarm]:
        return [a for a in self._open.values() if alarm_type is None or a.type == alarm_type]

    def listing(self) -> list[dict[str, Any]]:
        """For the status: most severe first, then oldest first."""
        ordered = sorted(self._open.values(), key=lambda a: (a.severity, a.since))
        return [a.status() for a in ordered]

    # --- transitions ------------------------------------------------------------------------------
    async def open(self, event_type: str, data: dict[str, Any], *, key: str, ts: datetime | None = None,
                   facts: dict[str, Any] | None = None, lasting: bool = False) -> Event:
        if category_of(event_type) not in ACKNOWLEDGED:
            raise ValueError(f"{event_type}: no acknowledgement event for its category (alarms.ACKNOWLEDGED)")
        async with self._lock:
            event = Event(event_type, self.enrich(event_type, data), ts or self.ctx.clock.now())
            current = next((a for a in self._open.values() if a.key == key), None)
            if current is not None:
                # The same alarm again (a repeat heat alarm, a fire seen again after a restart): one
                # alarm, and if it had been acknowledged it needs a new ack.
                alarm = current.but(aliases=(*current.aliases, event.id), present=lasting or current.present,
                                    acknowledged=False, by=None, facts={**current.facts, **(facts or {})})
            else:
                alarm = OpenAlarm(id=event.id, type=event_type, key=key, since=iso_ms(event.ts),
                                  opened=event.ts.timestamp(), facts=dict(facts or {}), lasting=lasting,
                                  present=lasting)
            await self._commit(event, alarm_store.write(alarm))
            self._open[alarm.id] = alarm
            self.facts.opened(alarm.id, event.id, saved=self.ctx.saved(event.id), new_ack=current is not None)
            self._mono.setdefault(alarm.id, self.ctx.clock.monotonic())
            self._start_escalation(alarm)
            self._publish()
            return event

    async def change(self, ref: str, event_type: str, data: dict[str, Any], *, ts: datetime | None = None,
                     escalated: bool | None = None, cleared: bool = False) -> Event:
        """Commit an event about an alarm (id, joined id or key) with its change, alone if it is no longer open;
        a clearing says which alarm it ends and if it was taken (OpenAlarm.ended; the caller's word wins)."""
        async with self._lock:
            alarm = self.get(ref)
            data = {**alarm.ended(), **data} if cleared and alarm is not None else data
            event = Event(event_type, data, ts or self.ctx.clock.now())
            if alarm is None:
                return await self._commit(event, None)
            new = alarm.but(escalated=alarm.escalated if escalated is None else escalated,
                            present=alarm.present and not cleared)
            await self._commit(event, alarm_store.write(new, event.ts.timestamp()))
            self._swap(new)
            return event

    async def withdraw(self, ref: str, event_type: str, data: dict[str, Any], *,
                       ts: datetime | None = None) -> Event | None:
        """Its owner closes it with this event (she cancelled a call); None if no longer open (an ack first)."""
        async with self._lock:
            alarm = self.get(ref)
            if alarm is None:
                return None
            event = Event(event_type, data, ts or self.ctx.clock.now())
            new = alarm.but(acknowledged=True, lasting=False)  # closed
            await self._commit(event, alarm_store.write(new, event.ts.timestamp()))
            self._swap(new)
            return event

    async def ack_command(self, body: dict[str, Any]) -> None:
        """`cmd/ack`, already validated (hub.core.platform_commands)."""
        event_id, by, message = body["event_id"], body.get("by") or "platform", body.get("message")
        if not await self.ack(event_id, by, message, named=bool(body.get("by")), by_name=body.get("by_name")):
            self._quiet.warning("ack-unknown", "cmd/ack names unknown or closed event %s (by %s): ignored",
                                event_id, by)

    async def ack(self, event_id: str, by: str, message: str | None, named: bool, via: str | None = None,
                  tell: tuple[str, dict[str, Any]] | None = None, by_name: str | None = None) -> bool:
        """`cmd/ack` (or `via` another path: "sms" or "voice", hub.cellular): True if `event_id` is an open
        alarm (whether or not the ack could be committed). `tell`: the prompt (key, fields) the resident
        hears instead of "社区已收到" (hub.escalation: "女儿已收到，正在赶来帮您"). `named`: `by` (or the
        platform's `by_name`, or [voice] operator_names[by]) may be spoken, if it is a name in Han characters."""
        async with self._lock:
            alarm = self._open.get(event_id) or next(
                (a for a in self._open.values() if event_id in a.aliases), None)
            if alarm is None:
                return False
            if alarm.acknowledged:
                self._quiet.info(f"ack-again:{alarm.id}", "cmd/ack for %s %s: already acknowledged by %s; still "
                                 "open while the condition lasts", alarm.type, event_id, alarm.by)
                return True
            new = alarm.but(acknowledged=True, by=by)
            event = Event(ACKNOWLEDGED[alarm.category], ack_data(alarm, by, message, via), self.ctx.clock.now())
            try:
                await self._commit(event, alarm_store.write(new, event.ts.timestamp()))
            except Exception as exc:
                # Nothing has changed: not the alarm, not the LED, not what the resident heard.
                log.error("cmd/ack for %s %s by %r NOT applied: %s could not be committed (%s: %s); the "
                          "alarm stays open and a repeated ack will be honoured", alarm.type, event_id, by,
                          event.type, type(exc).__name__, exc)
                return True
            self.acked.note(new, event.ts)
            self._swap(new)
            self.facts.note(alarm.id, "received")
            self.reminders.heard_someone()
            if tell is not None and tell[0] == "escalation_coming":
                self.facts.note(alarm.id, "coming")
        log.info("%s %s acknowledged by %s", alarm.type, alarm.id, by)
        handlers = self._handlers.get(alarm.type)
        if handlers is not None and handlers.acknowledged is not None:
            try:
                handlers.acknowledged(new)
            except Exception:
                log.exception("acknowledgement listener for %s failed", alarm.type)
        self.ctx.feedback("acked")
        name = spoken_name(by, by_name, operator_names(self.ctx)) if named else ""
        if tell is not None:
            self.ctx.say(tell[0], **{"about": alarm.id, **tell[1]})
        else:
            key, fields = self.ack_lines.line(alarm, [a for a in self._open.values() if a.id != alarm.id], name,
                                              self.ctx.clock.monotonic())
            self.ctx.say(key, about=alarm.id, **fields)
        return True

    def remind(self, alarm_id: str, what: str, what_en: str, steps: tuple[float, ...] = SCHEDULE_S) -> None:
        """Remind the resident that this alarm still waits for a person ("紧急呼叫，社区暂未确认…"), merged
        with every other such alarm, until it is acknowledged or closed (hub.alarms.reminders)."""
        self.reminders.remind(alarm_id, what, what_en, steps)

    def note_fact(self, ref: str, fact: str) -> None:
        """Something outside the registry made a fact true of this alarm ("texted": the modem's +CMGS)."""
        self.facts.note(ref, fact)

    def _is_pending(self, ref: str) -> bool | None:
        alarm = self.get(ref)
        if alarm is None:
            return False if self.facts.holds(ref, "saved") is not None else None
        return not alarm.acknowledged

    # --- internals --------------------------------------------------------------------------------
    def _swap(self, new: OpenAlarm) -> None:
        if new.closed:
            self._open.pop(new.id, None)
            self._mono.pop(new.id, None)
            self.ack_lines.closed(new, self.ctx.clock.monotonic())
        else:
            self._open[new.id] = new
        if new.closed or new.acknowledged:
            task = self._escalations.pop(new.id, None)
            if task is not None:
                task.cancel()
        self._publish()

    def _start_escalation(self, alarm: OpenAlarm) -> None:
        handlers = self._handlers.get(alarm.type)
        running = self._escalations.get(alarm.id)
        if handlers is None or handlers.escalate is None or alarm.acknowledged or (running and not running.done()):
            return
        waited = self.ctx.clock.monotonic() - self._mono.get(alarm.id, self.ctx.clock.monotonic())
        self._escalations[alarm.id] = self.ctx.spawn(f"alarms.escalate.{alarm.id[:8]}",
                                                     handlers.escalate(alarm, max(0.0, waited)))

    def _publish(self) -> None:
        self.ctx.set_status("open_alarms", self.listing())
        self.ctx.set_status("acknowledged_lately", self.acked.listing())
        self._changed()

    def stop(self) -> None:
        self.reminders.stop()
        for task in self._escalations.values():
            task.cancel()
        self._escalations.clear()
