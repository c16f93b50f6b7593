"""Reminders for open alarms nobody has taken yet: one voice for all of them, on a backing-off schedule.

A capability asks for reminders once its alarm has waited too long (hub.calls: `call.escalated`) with
`ctx.alarms.remind(alarm_id, what, what_en)`. The resident then hears ONE reminder for every such alarm
still waiting, saying which ones ("两个呼叫，紧急呼叫和健康咨询，社区暂未确认，正在继续呼叫"):

- at once when the first alarm joins; then SCHEDULE_S after the end of the previous reminder (30 s,
  2 min, 5 min, then every 10 min: `schedule(every_s, slow_s)` from [calls] reannounce_s and
  reannounce_slow_s); an alarm joining later restarts the schedule, but never sooner than the first
  step after the last reminder;
- never within QUIET_AFTER_S of a "received"/"coming" line (an ack of any alarm): she has just heard
  that someone has it, and "still calling" about another alarm would sound like a contradiction;
- an alarm acknowledged or closed drops out; the prompt claims "pending" (hub.speech.claims), so a
  reminder queued just before an ack is not said.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.alarms.words import CALL_WORDS

if TYPE_CHECKING:
    from hub.core.context import HubContext

log = logging.getLogger(__name__)

SCHEDULE_S: tuple[float, ...] = (30.0, 120.0, 300.0, 600.0)
QUIET_AFTER_S = 30.0


def schedule(every_s: float, slow_s: float) -> tuple[float, ...]:
    """The back-off: every_s, 4x, 10x, then slow_s (30 s, 2 min, 5 min, 10 min by default)."""
    return (every_s, max(every_s, min(4 * every_s, slow_s)), max(every_s, min(10 * every_s, slow_s)), slow_s)


COUNT_ZH = {2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九"}


def what_of(names: list[tuple[str, str]], kinds_of: list[tuple[str, str]] | None = None) -> tuple[str, str]:
    """('紧急呼叫', 'emergency call') pairs -> what the reminder says about them, in Mandarin and English;
    `kinds_of`: their plain names, when `names` tells two of a kind apart ("上午九点零一分的紧急呼叫")."""
    zh = [z for z, _e in names]
    en = [e for _z, e in names]
    if len(names) == 1:
        return zh[0], en[0].capitalize()
    # Each kind once, with how many when more than one: "三个呼叫，两个紧急呼叫和生活服务" (the count and the
    # kinds she hears must add up), "两个紧急呼叫" when they are all of one kind. The hub's reminders name
    # two of a kind apart instead (Reminders: `apart`), so each is said once by its own name.
    kinds = list(dict.fromkeys(zh))
    said = [f"{COUNT_ZH.get(zh.count(k), str(zh.count(k)))}个{k}" if zh.count(k) > 1 else k for k in kinds]
    kinds_en = ", ".join(f"{e} ×{en.count(e)}" if en.count(e) > 1 else e for e in dict.fromkeys(en))
    if len(kinds) == 1:
        return said[0], f"{len(names)} alarms ({kinds_en})"
    kinds_zh = "、".join(said[:-1]) + "和" + said[-1]
    count = COUNT_ZH.get(len(names), str(len(names)))
    calls = {"呼叫", *(words[0] for words in CALL_WORDS.values())}  # "三个呼叫" only when all are calls
    noun = "呼叫" if all(z in calls for z, _e in kinds_of or names) else "报警"
    return f"{count}个{noun}，{kinds_zh}", f"{len(names)} alarms ({kinds_en})"


class Reminders:
    def __init__(self, ctx: HubContext, pending: Callable[[str], bool | None],
                 apart: Callable[[list[str]], dict[str, tuple[str, str]]] = lambda ids: {}) -> None:
        self.ctx = ctx
        self._pending = pending
        self._apart = apart  # alarm ids -> the names of two of a kind told apart (hub.alarms.words)
        self._names: dict[str, tuple[str, str]] = {}  # alarm id -> (zh, en), in the order they joined
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._count = 0  # reminders said since the schedule last restarted
        self._last_end: float | None = None
        self._next = 0.0
        self._quiet_until = 0.0
        self.said = 0  # for status and the bench
        self.schedule = SCHEDULE_S

    def remind(self, alarm_id: str, what: str, what_en: str, steps: tuple[float, ...] = SCHEDULE_S) -> None:
        if alarm_id in self._names:
            return
        self._names[alarm_id] = (what, what_en)
        self.schedule = steps
        now = self.ctx.clock.monotonic()
        self._count = 0
        self._next = now if self._last_end is None else max(now, self._last_end + steps[0])
        if self._task is None or self._task.done():
            self._task = self.ctx.spawn("alarms.reminders", self._run())
        self._changed.set()

    def heard_someone(self) -> None:
        """A "received"/"coming" line is being said: no reminder right after it."""
        self._quiet_until = self.ctx.clock.monotonic() + QUIET_AFTER_S
        self._changed.set()

    def _due(self) -> list[str]:
        for alarm_id in [a for a in self._names if not self._pending(a)]:
            del self._names[alarm_id]
        return list(self._names)

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            due = self._due()
            if not due:
                await self._changed.wait()
                continue
            now = self.ctx.clock.monotonic()
            at = max(self._next, self._quiet_until)
            if now < at - 1e-6:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), at - now)
                continue
            plain = [self._names[a] for a in due]
            told = self._apart(due) if len(due) > 1 else {}
            what, what_en = what_of([told.get(a, name) for a, name in zip(due, plain, strict=True)], plain)
            await self.ctx.speak("alarm_reminder", what=what, what_en=what_en, about=due[0])  # to its end
            self.said += 1
            end = self._last_end = self.ctx.clock.monotonic()
            self._next = end + self.schedule[min(self._count, len(self.schedule) - 1)]
            self._count += 1

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
