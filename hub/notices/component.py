"""The notice board: platform notices (`cmd/notice`) and the unit's reminders, said one after another by
priority through the one speech queue, confirmed by a press (or a meter reading), kept across restarts.

- Arrival: checked at the edge (hub.notices.command), then whether the voice can say it
  (hub.notices.speakable, off the loop); refused ones raise `notice.refused` naming why (at most
  REFUSALS_PER_MIN a minute: a flood of garbage is not a flood of commits). The same id again with the
  same content is a replay (ignored); with other content it is refused (`id_reused`).
- Order: critical, then action notices and reminders, then info; a critical notice is said while an
  alarm is open, after the alarm's own speech (its prompts are IMPORTANT, the alarm's URGENT: the queue
  never puts it over them); everything else waits until no alarm is open unacknowledged. Info notices
  (and any notice with `quiet_hours`) wait out the night ([notices] day_start/day_end).
- A press while one that asks for confirmation is being said, or within confirm_window_s after, confirms
  it and raises no call (a press held 2 s, or a second press, still calls: hub.speech.questions); a press
  while a heard but unconfirmed notice waits replays it. Never while an alarm or a question is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event
from hub.core.platform_commands import TokenBucket
from hub.notices import sim
from hub.notices.command import Notice, Refused, parse_notice
from hub.notices.items import READINGS, Item, due_reminders, minutes, notice_item, reminder_data, reminder_item, wake_in
from hub.notices.speakable import check_audio, check_text
from hub.notices.store import NoticeStore

log = logging.getLogger(__name__)

REFUSALS_PER_MIN = 6
WAKE_S = 30.0


class NoticeBoard:
    name = "notices"

    def __init__(self, config: Config) -> None:
        self.cfg = config["notices"]
        self.entries: list[dict[str, Any]] = list(config["reminders"])
        self.voice = config["voice"]
        self.state_dir = config.state_dir
        self.zone = ZoneInfo(config["hub"]["timezone"])
        self.day = (minutes(self.cfg["day_start"]), minutes(self.cfg["day_end"]))
        self.store = NoticeStore(config.state_dir)
        self.items: list[Item] = []
        self._ctx: HubContext | None = None
        self._changed = asyncio.Event()
        self._arrivals = asyncio.Lock()
        self._refusals = TokenBucket(REFUSALS_PER_MIN / 60, REFUSALS_PER_MIN)
        self._speaking: Item | None = None
        self._led = False

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.store.load()
        now = ctx.clock.now()
        for n in list(self.store.pending):
            recording = self.store.recording(n.id) if n.audio is not None else None
            if n.expires <= now or (recording is not None and not recording.exists()):
                self.store.forget(n.id)  # expired while the unit was off (or its recording is gone)
                continue
            self.items.append(notice_item(n, now, self.day, self.cfg["max_repeats"],
                                          str(recording) if recording else None))
        if self.cfg["enabled"]:
            ctx.add_platform_command("notice", self.command)
        ctx.on_press_claim(self._claim)
        ctx.on_event(self._on_event)
        ctx.add_sim_command("notice", lambda argv: sim.notice(self, argv))
        ctx.add_sim_command("reminder", lambda argv: sim.reminder(self, argv))
        ctx.spawn("notices.board", self._run())
        self._publish()

    async def close(self) -> None:
        self._ctx = None

    # ---- arrivals ---------------------------------------------------------------------------------
    async def command(self, body: dict[str, Any]) -> None:
        await self.accept(body)

    async def accept(self, body: dict[str, Any]) -> dict[str, Any]:
        """cmd/notice (and `hub sim notice`): the outcome, for the log and the sim verb."""
        async with self._arrivals:  # one at a time: the same id twice at once is still one notice
            ctx = self._need()
            now = ctx.clock.now()
            try:
                n = parse_notice(body, now, self.cfg["max_text_chars"], self.cfg["max_audio_bytes"])
            except Refused as r:
                return await self._refuse(body.get("id"), r)
            digest = n.digest()
            seen = self.store.seen.get(n.id)
            if seen == digest:
                log.info("cmd/notice %s again with the same content: a replay, ignored", n.id)
                return {"outcome": "duplicate", "notice_id": n.id}
            if seen is not None:
                return await self._refuse(n.id, Refused("id_reused", "this id was used before for another notice"))
            victim = self._displaced(n)
            if victim is False:
                return await self._refuse(n.id, Refused("queue_full", f"{self.cfg['max_pending']} notices wait "
                                                                      "already ([notices] max_pending)"))
            self.store.seen[n.id] = digest  # a refused one is remembered too: its replay is not checked again
            recording = self.store.recording(n.id)
            try:
                if n.text is not None:
                    await asyncio.to_thread(check_text, n.text, self.state_dir, self.voice["espeak_voice"])
                else:
                    assert n.audio is not None
                    await asyncio.to_thread(check_audio, n.audio, n.audio_format, recording,
                                            self.cfg["max_audio_s"], self.voice["level_db"])
            except Refused as r:  # remembered in memory only: a flood of bad notices is no flood of card writes
                return await self._refuse(n.id, r)
            if isinstance(victim, Item):
                await self._drop(victim, "displaced")
            self.store.pending.append(n)
            self.store.save()
            self.items.append(notice_item(n, now, self.day, self.cfg["max_repeats"],
                                          str(recording) if n.audio is not None else None))
            log.info("notice %s accepted (%s%s)", n.id, n.priority, ", confirm" if n.confirm else "")
            self._poke()
            return {"outcome": "accepted", "notice_id": n.id}

    def _displaced(self, n: Notice) -> Item | bool:
        """True: room; an Item: the lower-priority notice a full queue gives up; False: full."""
        notices = [i for i in self.items if i.notice is not None]
        if len(notices) < self.cfg["max_pending"]:
            return True
        lowest = max(notices, key=lambda i: (i.rank, i.seq))
        return lowest if lowest.rank > n.rank else False

    async def _refuse(self, nid: Any, r: Refused) -> dict[str, Any]:
        ctx = self._need()
        log.warning("cmd/notice %s refused: %s", ascii(nid)[:70], r)
        if self._refusals.take(ctx.clock.monotonic()):
            await ctx.raise_event("notice.refused", {
                "notice_id": nid if isinstance(nid, str) and len(nid) <= 64 else None,
                "reason": r.reason, "detail": r.detail[:200]})
        return {"outcome": "refused", "reason": r.reason, "detail": r.detail}

    # ---- saying -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            self._changed.clear()
            now = self._need().clock.now()
            await self._sweep(now)
            item = self._next(now)
            if item is not None:
                await self._say(item)
                continue
            self._publish()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wake_in(self.items, now, self.zone, WAKE_S))

    async def _sweep(self, now: datetime) -> None:
        for item in [i for i in self.items if now >= i.until]:
            await self._drop(item, "expired")
        for entry, due in due_reminders(self.entries, now, self.zone):
            ref = f"reminder:{entry['id']}@{due.strftime('%Y-%m-%dT%H:%M')}"
            if ref not in self.store.done and all(i.ref != ref for i in self.items):
                self.items.append(reminder_item(entry, due))

    def _alarm_open(self) -> bool:
        return any(not a.acknowledged for a in self._need().alarms.open_alarms())

    def _next(self, now: datetime) -> Item | None:
        ready = [i for i in self.items if i.playable(now, self.zone)]
        if self._alarm_open():
            for i in ready:
                i.held = i.held or not i.during_alarms
            ready = [i for i in ready if i.during_alarms]
        return min(ready, key=lambda i: (i.rank, i.due, i.seq), default=None)

    async def _say(self, item: Item) -> None:
        ctx = self._need()
        self._speaking = item
        then: tuple[tuple[str, dict[str, Any]], ...] = ()
        if item.confirm and item.notice is not None:
            then = (("notice_confirm_hint", {}),)
        try:
            record = await ctx.speak(item.prompt, about=item.ref, then=then, **item.fields)
        finally:
            self._speaking = None
        if item not in self.items:
            return  # confirmed while being said
        item.plays += 1
        item.heard_mono = ctx.clock.monotonic()
        heard = bool(record and record.get("played"))  # no speaker, no voice: tried, not heard
        item.heard += heard
        if item.notice is not None and heard and item.heard == 1:
            await ctx.raise_event("notice.played", {"notice_id": item.notice.id, "priority": item.notice.priority,
                                                    "confirm": item.confirm})
        if item.repeat_s and item.plays < item.max_plays:
            item.due = ctx.clock.now() + timedelta(seconds=item.repeat_s)
        elif not item.confirm:
            self._remove(item)  # said as often as it asked: done
        self._publish()

    # ---- confirming -------------------------------------------------------------------------------
    def _claim(self, pin: int) -> bool:
        ctx = self._ctx
        if ctx is None or self._alarm_open():
            return False
        mono = ctx.clock.monotonic()
        recent = [i for i in self.items if i.confirm and (i is self._speaking or (i.heard_mono is not None
                                                          and mono - i.heard_mono <= self.cfg["confirm_window_s"]))]
        if recent:
            item = self._speaking if self._speaking in recent else max(recent, key=lambda i: i.heard_mono or 0)
            assert item is not None
            ctx.spawn("notices.confirm", self._confirm(item, "press"))
            return True
        unheard = [i for i in self.items if i.notice is not None and i.confirm and i.plays >= 1]
        if unheard:  # the LED shows it: a press says it again
            item = min(unheard, key=lambda i: (i.rank, i.seq))
            item.due, item.max_plays = ctx.clock.now(), max(item.max_plays, item.plays + 1)
            log.info("press on button %s: replaying %s", pin, item.ref)
            self._poke()
            return True
        return False

    def _on_event(self, event: Event) -> None:
        if event.type.endswith((".acknowledged", ".cancelled", "_cleared", ".restored")):
            self._poke()  # an alarm may have closed: what waited for it is said now, not at the next look
        kind = READINGS.get(event.type)
        if kind is None or self._ctx is None:
            return
        for item in [i for i in self.items if i.reminder is not None and i.reminder["kind"] == kind]:
            self._ctx.spawn("notices.confirm", self._confirm(item, "reading"))

    async def _confirm(self, item: Item, by: str) -> None:
        if item not in self.items:
            return
        ctx = self._need()
        self._remove(item)
        if item.notice is not None:
            await ctx.raise_event("notice.confirmed", {"notice_id": item.notice.id, "priority": item.notice.priority,
                                                       "by": by, "plays": item.plays})
        else:
            await ctx.raise_event("reminder.confirmed", reminder_data(item, by=by))
        if by == "press":
            ctx.say("notice_confirmed" if item.notice is not None else "reminder_confirmed", about=item.ref)
        self._poke()

    async def _drop(self, item: Item, reason: str) -> None:
        ctx = self._need()
        self._remove(item, "missed")
        if item.notice is not None:
            await ctx.raise_event("notice.expired", {"notice_id": item.notice.id, "priority": item.notice.priority,
                                                     "reason": reason, "plays": item.plays})
        else:
            await ctx.raise_event("reminder.missed", reminder_data(item, held=item.held))

    def _remove(self, item: Item, outcome: str = "confirmed") -> None:
        if item in self.items:
            self.items.remove(item)
        if item.notice is not None:
            self.store.forget(item.notice.id)
        else:
            self.store.done[item.ref] = outcome
        self.store.save()
        self._publish()

    # ---- what shows -------------------------------------------------------------------------------
    def _poke(self) -> None:
        self._changed.set()
        self._publish()

    def _publish(self) -> None:
        ctx = self._ctx
        if ctx is None:
            return
        ctx.set_status("notices", {
            "pending": [i.public() for i in self.items if i.notice is not None],
            "reminders": [i.public() for i in self.items if i.reminder is not None],
            "scheduled": [f"{e['id']} {e['kind']} {','.join(e['times'])}" for e in self.entries]})
        waiting = any(i.confirm and i.plays >= 1 for i in self.items) and not self._alarm_open()
        if waiting != self._led:
            self._led = waiting
            ctx.feedback("notice" if waiting else "notice_off")

    def _need(self) -> HubContext:
        assert self._ctx is not None, "notices component not started"
        return self._ctx


def build(config: Config, hardware: Hardware) -> NoticeBoard | None:
    return NoticeBoard(config) if config["notices"]["enabled"] or config["reminders"] else None
