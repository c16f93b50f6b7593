"""The daily check-in "报平安" on the hub: claims the check-in press, speaks, reports, follows up.

The rule is `hub.detect.checkin.schedule.Checkin`; here it meets the hub. A press on a check-in button
(`[checkin] pins`, else every call button) is offered to `ctx.on_press_claim` first: during the
window, the day's first press is the check-in ("好的，已报平安。需要帮助请再按一次", `checkin.ok`) and
raises no call; a second press is a call as always. Every other sign of life reaches it through
`ctx.activity`. A named task looks at the clock; when the window closes with no check-in and no
activity, the hub asks aloud and, with no answer within `wait_s`, raises `checkin.missed`. Away mode
(the inactivity detector's `away.set` / `away.cleared`) suspends it. `hub status` shows "checkin".
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.config.loader import Config
from hub.core.activity import Activity
from hub.core.context import Hardware, HubContext
from hub.core.events import Event
from hub.detect.checkin.schedule import Checkin, CheckinDecision
from hub.detect.inactivity.params import hhmm_to_min

log = logging.getLogger(__name__)

TICK_S = 15.0


class CheckinMonitor:
    name = "checkin"

    def __init__(self, config: Config) -> None:
        c = config["checkin"]
        self.start_text, self.end_text = c["start"], c["end"]
        self.wait_s = float(c["wait_s"])
        self.pins = set(c["pins"]) or {b["pin"] for b in config["buttons"]}
        self.zone_name = config["hub"]["timezone"]
        self.rule: Checkin | None = None
        self._ctx: HubContext | None = None
        self._queue: asyncio.Queue[CheckinDecision] = asyncio.Queue()
        self._claimed_at: datetime | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        try:
            zone: Any = ZoneInfo(self.zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ctx.clock.now().tzinfo
        self.rule = Checkin(hhmm_to_min(self.start_text), hhmm_to_min(self.end_text), self.wait_s, zone,
                            since=ctx.clock.now())
        ctx.on_press_claim(self._claim)
        ctx.activity.subscribe(self._on_activity)
        ctx.on_event(self._on_event)
        ctx.spawn("checkin.act", self._worker())
        ctx.spawn("checkin.tick", self._ticker())
        self._publish()

    async def close(self) -> None:
        self._ctx = None

    # ---- inputs -------------------------------------------------------------------------------
    def _claim(self, pin: int) -> bool:
        rule, now = self._rule(), self._require_ctx().clock.now()
        if pin not in self.pins or not rule.claims(now):
            return False
        self._claimed_at = now
        self._enqueue(rule.press(now))
        return True

    def _on_activity(self, activity: Activity) -> None:
        if activity.source.startswith("button:") and self._claimed_at is not None:
            self._claimed_at = None  # the claimed press itself: already counted as the check-in
            return
        self._enqueue(self._rule().activity(activity.ts))

    def _on_event(self, event: Event) -> None:
        if event.type in ("away.set", "away.cleared"):
            self._rule().away = event.type == "away.set"
            self._publish()

    async def tick(self) -> None:
        self._enqueue(self._rule().tick(self._require_ctx().clock.now()))
        await self._queue.join()

    # ---- outputs ------------------------------------------------------------------------------
    def _enqueue(self, decisions: list[CheckinDecision]) -> None:
        for d in decisions:
            self._queue.put_nowait(d)

    async def _worker(self) -> None:
        while True:
            d = await self._queue.get()
            try:
                await self._act(d)
            except Exception:
                log.exception("checkin: acting on %r failed", d)
            finally:
                self._queue.task_done()

    async def _act(self, d: CheckinDecision) -> None:
        ctx = self._require_ctx()
        window = f"{self.start_text}-{self.end_text}"
        if d.kind == "ok":
            ctx.say("checkin_ok")
            await ctx.raise_event("checkin.ok", {"window": window, "by": "button"}, ts=d.at)
        elif d.kind == "ask":
            log.info("check-in window %s closed with no check-in and no activity: asking", window)
            ctx.say("checkin_question")
            ctx.feedback("chirp")
        elif d.kind == "answered":
            ctx.say("checkin_answered")
            ctx.feedback("idle")
            await ctx.raise_event("checkin.ok", {"window": window, "by": "answer"}, ts=d.at)
        elif d.kind == "missed":
            assert d.asked_at is not None
            await ctx.raise_event("checkin.missed", {
                "window": window, "asked_at": d.asked_at.isoformat(timespec="milliseconds"),
                "wait_s": self.wait_s,
                "last_activity": d.last_activity.isoformat(timespec="milliseconds") if d.last_activity else None,
            }, ts=d.at)
            ctx.say("checkin_missed")
        self._publish()

    def status(self) -> dict[str, Any]:
        rule, now = self._rule(), self._require_ctx().clock.now()
        return {"window": f"{self.start_text}-{self.end_text}", "state": rule.status(now),
                "checked_in": rule.done.isoformat(timespec="seconds") if rule.done else None}

    def _publish(self) -> None:
        if self._ctx is not None and self.rule is not None:
            self._ctx.set_status("checkin", self.status())

    async def _ticker(self) -> None:
        while True:
            await self.tick()
            self._publish()
            await asyncio.sleep(TICK_S)

    def _rule(self) -> Checkin:
        assert self.rule is not None, "checkin component not started"
        return self.rule

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "checkin component not started"
        return self._ctx


def build(config: Config, hardware: Hardware) -> CheckinMonitor | None:
    return CheckinMonitor(config) if config["checkin"]["enabled"] else None
