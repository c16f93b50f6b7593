"""The wellbeing capability in the hub: counts the day, and each morning after the night sends
`wellbeing.daily` with what changed against this home's own norm.

It listens (the activity stream, committed events) and sleeps until the day's end: one timer a day,
woken early when the wall clock is set or simulated hours pass (`hub sim inactivity`). The day's counts
stay in memory; only the finished summary is written (hub.wellbeing.history). `cmd/report` renders the
chart in a child process, so the plotting library never loads into the hub (hub.wellbeing.request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.config.loader import Config
from hub.core.activity import Activity
from hub.core.context import Hardware, HubContext
from hub.core.events import Event
from hub.wellbeing.history import History
from hub.wellbeing.norm import findings
from hub.wellbeing.request import ReportRequests
from hub.wellbeing.rooms import Rooms
from hub.wellbeing.tally import DayTally

log = logging.getLogger(__name__)

LATE_START = timedelta(minutes=5)  # started this long after the day began: the day's counts are partial


def _hhmm(text: str) -> time:
    h, _, m = text.partition(":")
    return time(int(h), int(m))


def window_of(now: datetime, day_start: time) -> tuple[datetime, datetime]:
    """The wellbeing day that `now` (aware, local) falls in: [start, next start)."""
    zone = now.tzinfo
    start = datetime.combine(now.date(), day_start, zone)
    if now < start:
        start = datetime.combine(now.date() - timedelta(days=1), day_start, zone)
    end = datetime.combine(start.date() + timedelta(days=1), day_start, zone)
    return start, end


class Wellbeing:
    name = "wellbeing"

    def __init__(self, config: Config) -> None:
        c = config["wellbeing"]
        self.config = config
        self.day_start = _hhmm(c["day_start"])
        self.night = (_hhmm(c["night_start"]), _hhmm(c["night_end"]))
        self.norm_days = int(c["norm_days"])
        self.rooms = Rooms.from_config(c)
        self.history = History(config.state_dir)
        self.tally: DayTally | None = None
        self.requests = ReportRequests(config)
        self._ctx: HubContext | None = None
        try:  # the day runs by the home's clock, whatever zone the hub's time stamps carry
            self._zone: tzinfo | None = ZoneInfo(config["hub"]["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            self._zone = None
        self._wake = asyncio.Event()
        self._closed = False

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        await asyncio.to_thread(self.history.load)
        self.tally = self._new_day(self._now(), partial=True)
        ctx.activity.subscribe(self._on_activity)
        ctx.on_event(self._on_event)
        loop = asyncio.get_running_loop()

        def stepped(_s: float) -> None:  # told on the thread that saw the step (gpiozero's, too)
            loop.call_soon_threadsafe(self._wake.set)  # an asyncio.Event is set on its own loop
        ctx.clock.on_step(stepped)
        ctx.clock.on_advance(stepped)  # `hub sim inactivity`'s simulated hours end the day as real ones do
        ctx.add_sim_command("wellbeing", self._sim)
        ctx.add_platform_command("report", self.requests.handle_for(ctx))
        ctx.spawn("wellbeing.day", self._days())
        self._status()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        await self.requests.close()

    def _now(self) -> datetime:
        assert self._ctx is not None
        return self._ctx.clock.now().astimezone(self._zone)

    def _new_day(self, now: datetime, partial: bool) -> DayTally:
        start, end = window_of(now, self.day_start)
        late = partial and now - start > LATE_START
        return DayTally(start, end, *self.night, rooms=self.rooms, covered_from=now if late else None)

    def _on_activity(self, activity: Activity) -> None:
        if self.tally is not None:
            self.tally.note(activity.ts.astimezone(self._zone), activity.source)

    def _on_event(self, event: Event) -> None:
        if self.tally is not None:
            self.tally.event(event.type, event.data, event.ts.astimezone(self._zone))

    async def _days(self) -> None:
        ctx = self._ctx
        assert ctx is not None
        while not self._closed:
            assert self.tally is not None
            left = (self.tally.end - self._now()).total_seconds()
            if left > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
                continue  # look at the clock again: it may have been set
            await self.close_day()

    async def close_day(self) -> dict[str, Any]:
        """Send the finished day and start the next (a hub that was off for days starts a partial one)."""
        ctx = self._ctx
        assert ctx is not None and self.tally is not None
        day = self.tally.summary()
        day["findings"] = findings(day, self.history.days, self.norm_days)
        now = self._now()
        late = now - self.tally.end > timedelta(hours=1)
        if now < self.tally.end:  # closed early (the demo's `hub sim wellbeing close`): the rest of the same
            start, end = self.tally.start, self.tally.end  # day is heard from now on only, and says so
            self.tally = DayTally(start, end, *self.night, rooms=self.rooms, covered_from=now)
        else:
            self.tally = self._new_day(now, partial=late)
        await ctx.raise_event("wellbeing.daily", day)
        try:
            await asyncio.to_thread(self.history.append, day)
        except OSError as exc:  # the card: the event is already queued; the norm lacks one day
            log.error("wellbeing: could not keep the day %s on the card: %s", day["date"], exc)
        self._status()
        return day

    def _status(self) -> None:
        ctx = self._ctx
        if ctx is not None and self.tally is not None:
            last = self.history.days[-1]["date"] if self.history.days else None
            ctx.set_status("wellbeing", {"counting": self.tally.start.date().isoformat(), "last_sent": last,
                                         "days_kept": len(self.history.days)})

    async def _sim(self, args: list[str]) -> dict[str, Any]:
        """`hub sim wellbeing` shows the day so far; `hub sim wellbeing close` sends it now (demo)."""
        assert self.tally is not None
        if args[:1] == ["close"]:
            return {"sent": await self.close_day()}
        if args:
            raise ValueError("usage: hub sim wellbeing [close]")
        day = self.tally.summary()
        return {"so_far": day, "findings": findings(day, self.history.days, self.norm_days)}


def build(config: Config, hardware: Hardware) -> Wellbeing | None:
    return Wellbeing(config) if config["wellbeing"]["enabled"] else None
