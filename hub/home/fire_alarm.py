"""Fire alarms (smoke, or a temperature rate of rise): raised at once, open until cleared AND acked.

No guard window: the local alarm sounds and `alarm.fire` is committed as soon as a cause appears.
While any cause is present the buzzer sounds and the warning is repeated. When a cause clears,
`alarm.fire_cleared` names the alarm it ends; the alarm stays open (in status) until the platform
also acks it through `cmd/ack` with the alarm's event id. Each alarm is an open alarm of the hub
(hub.alarms.registry, key `fire:<cause>`, lasting): the registry commits `alarm.acknowledged` and tells
the resident; `acknowledged()` here only keeps the local view (announcing, `fire_alarms`) in step.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from hub.alarms.store import OpenAlarm
from hub.core.context import HubContext

log = logging.getLogger(__name__)
# What the resident hears per cause: a fast temperature rise without smoke is not "检测到烟雾".
PROMPTS = {"smoke": ("sensors_fire_alarm", "sensors_fire_cleared"),
           "rate_of_rise": ("sensors_heat_rise_alarm", "sensors_heat_rise_cleared")}
SMOKE_IN = "sensors_fire_alarm_in"  # "厨房检测到烟雾…": smoke from a detector whose room is configured
SMOKE_CLEARED_IN = "sensors_fire_cleared_in"  # "卧室的烟雾已消散，请确认没有东西还在烧"


@dataclass
class FireAlarm:
    event_id: str
    cause: str  # "smoke" | "rate_of_rise"
    raised_mono: float
    present: bool = True
    acked: bool = False
    room: str = ""  # the detector's room, as configured ("" = not said)

    def warning(self) -> tuple[str, dict[str, Any]]:
        """The spoken warning (prompt key, fields): smoke names its room when there is one."""
        if self.cause == "smoke" and self.room:
            return SMOKE_IN, {"room": self.room}
        return PROMPTS[self.cause][0], {}


class FireAlarms:
    def __init__(self, ctx: HubContext, announce_s: float) -> None:
        self.ctx = ctx
        self.announce_s = announce_s
        self.alarms: dict[str, FireAlarm] = {}  # event id -> alarm, open ones only
        self._announcer: asyncio.Task[None] | None = None
        ctx.alarms.handle("alarm.fire", acknowledged=self.acknowledged)

    def present(self, cause: str) -> FireAlarm | None:
        return next((a for a in self.alarms.values() if a.cause == cause and a.present), None)

    async def raise_(self, cause: str, data: dict[str, Any], room: str = "") -> str | None:
        """A cause appeared: sound the alarm and commit `alarm.fire` (once while it stays present); `room`:
        where the detector is, said in the warning."""
        if self.present(cause) is not None:
            return None
        ctx = self.ctx
        ctx.feedback("alarm")  # the buzzer at once; the words say the community has it, so after the commit
        where = {"room": room} if room else {}  # the operator sends help to the right room too
        event = await ctx.alarms.open("alarm.fire", {"cause": cause, **data, **where}, key=f"fire:{cause}",
                                      lasting=True, facts={"cause": cause})
        alarm = FireAlarm(event.id, cause, ctx.clock.monotonic(), room=room)
        key, fields = alarm.warning()
        ctx.say(key, about=event.id, **fields)  # "已发送到社区" once the broker has it, else what to do
        self.alarms[event.id] = alarm
        if self._announcer is None or self._announcer.done():
            self._announcer = ctx.spawn("sensors.fire_announce", self._announce(alarm))
        self._publish_status()
        return event.id

    async def clear(self, cause: str, data: dict[str, Any]) -> str | None:
        alarm = self.present(cause)
        if alarm is None:
            return None
        ctx = self.ctx
        alarm.present = False
        duration = round(ctx.clock.monotonic() - alarm.raised_mono, 1)
        event = await ctx.alarms.change(
            alarm.event_id,
            "alarm.fire_cleared",
            {
                "cause": cause,
                "alarm_id": alarm.event_id,
                "duration_s": duration,
                "acked": alarm.acked,
                **data,
            },
            cleared=True,
        )
        if alarm.acked:
            del self.alarms[alarm.event_id]
        if not any(a.present for a in self.alarms.values()):
            ctx.feedback("alarm_off")
            if cause == "smoke" and alarm.room and alarm.room != "厨房":  # the stove is the kitchen's advice
                ctx.say(SMOKE_CLEARED_IN, room=alarm.room)
            else:
                ctx.say(PROMPTS[cause][1])
        self._publish_status()
        return event.id

    def acknowledged(self, acked: OpenAlarm) -> None:
        """The registry committed the platform's ack of an alarm.fire (any of its ids)."""
        for alarm in [a for a in self.alarms.values() if a.event_id in acked.ids]:
            alarm.acked = True
            log.info("fire alarm %s acked by %s (%s)", alarm.event_id, acked.by,
                     "cause still present" if alarm.present else "closed")
            if not alarm.present:
                del self.alarms[alarm.event_id]
        self._publish_status()

    def _publish_status(self) -> None:
        self.ctx.set_status(
            "fire_alarms",
            [
                {"event_id": a.event_id, "cause": a.cause, "present": a.present, "acked": a.acked}
                for a in self.alarms.values()
            ],
        )

    async def _announce(self, first: FireAlarm) -> None:
        """Repeat the spoken warning while any cause is present, `announce_s` after the last one ended."""
        key, fields = first.warning()
        await self.ctx.speak(key, about=first.event_id, **fields)  # the first one, said by raise_(): its end
        while True:
            await asyncio.sleep(self.announce_s)
            present = {a.cause: a for a in self.alarms.values() if a.present}
            if not present:
                return
            self.ctx.feedback("alarm")
            alarm = present.get("smoke") or present["rate_of_rise"]
            key, fields = alarm.warning()
            await self.ctx.speak(key, about=alarm.event_id, **fields)

    def close(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
