"""What zigbee states raise: alarm.gas (valve closed first), alarm.co, alarm.water, smoke, SOS calls, faults.

Gas, CO and water leak are lasting alarms (hub.alarms.registry, key `<role>:<device>`): raised on the
first fresh `true`, `alarm.<role>_cleared` on the first `false` after it; a repeated `true` (zigbee2mqtt
sends the whole state on every report) joins the open alarm. For gas the valves are closed first: the
`set` goes to the local broker and its PUBACK is awaited (at most hub.zigbee.link.PUBLISH_WAIT_S) before
the alarm is committed, so the valve is on its way shut before the platform can hear of the alarm.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.core.context import HubContext
from hub.zigbee import devices as z
from hub.zigbee.peers import Calls, Fire, as_peer

if TYPE_CHECKING:
    from hub.zigbee.component import Zigbee

log = logging.getLogger(__name__)
ALARMS = {"gas": "alarm.gas", "co": "alarm.co", "water": "alarm.water"}
VALVE_OF = {"gas": "gas_valve", "water": "water_valve"}
CLOSE = json.dumps({"state": "OFF"})
REMEDY = {
    "offline": "检查设备电池和距离，必要时重新配对 (replace the battery, move it nearer or add a router; re-pair)",
    "unusable": "用 hub zigbee list 查看原因，重新配对或改正 [[zigbee.devices]] (see `hub zigbee list`; re-pair or "
                "fix the role)",
    "bridge_offline": "检查 zigbee2mqtt 服务和协调器 USB 棒 (systemctl status zigbee2mqtt; reseat the coordinator "
                      "stick)",
    "valve": "请手动关闭阀门，检查阀门电源和连接 (close the valve by hand; check its power and pairing)",
}


class ZigbeeAlarms:
    def __init__(self, ctx: HubContext, owner: Zigbee) -> None:
        self.ctx, self.owner = ctx, owner
        self.present: dict[str, bool] = {}  # "<role>:<device>" -> the condition is there (fresh reports)
        self.smoke_raised: set[str] = set()  # devices whose smoke raised the fire alarm
        self.valve_waits: dict[str, list[asyncio.Future[None]]] = {}  # valve -> alarms waiting for "closed"
        self.faults: dict[str, str] = {}  # fault key -> event id of the open fault
        self._order: dict[str, asyncio.Lock] = {}  # "<role>:<device>" -> its raise and clear, in arrival order

    def _in_order(self, key: str) -> asyncio.Lock:
        return self._order.setdefault(key, asyncio.Lock())  # FIFO: a quick `false` waits for its `true`

    # --- state messages ------------------------------------------------------------------------------
    def state(self, known: z.Known, state: z.State, ts: datetime) -> None:
        role, name = known.role or "", known.friendly_name
        if role in z.ALARM_PROPERTY:
            value = state.values.get(z.ALARM_PROPERTY[role])
            if value is None:
                return
            key = f"{role}:{name}"
            if value and not self.present.get(key):
                self.present[key] = True
                self.ctx.spawn(f"zigbee.{role}.{name}", self._raise(known, ts))
            elif not value and self.present.get(key):
                self.present[key] = False
                self.ctx.spawn(f"zigbee.{role}_clear.{name}", self._clear(known, ts))
        elif role == "sos" and state.action is not None:
            self._sos(known, state.action, ts)
        elif role in z.VALVE_ROLES and state.valve_open is False:
            for waiting in self.valve_waits.pop(name, []):  # two detectors, one valve: both hear it closed
                if not waiting.done():
                    waiting.set_result(None)
        elif role in ("door", "motion"):
            opened = state.values.get("contact") is False or state.values.get("occupancy") is True
            if opened:  # a sign of life in that room (the inactivity detector and the card's last motion)
                self.ctx.activity.note(f"{known.room}:zigbee-{role}", ts)

    async def _raise(self, known: z.Known, ts: datetime) -> None:
        async with self._in_order(f"{known.role}:{known.friendly_name}"):
            await self._raise_now(known, ts)

    async def _clear(self, known: z.Known, ts: datetime) -> None:
        async with self._in_order(f"{known.role}:{known.friendly_name}"):
            await self._clear_now(known, ts)

    async def _raise_now(self, known: z.Known, ts: datetime) -> None:
        role, name = known.role or "", known.friendly_name
        if role == "smoke":
            await self._smoke(known, True)
            return
        ctx = self.ctx
        ctx.feedback("alarm")
        valves = self.owner.valves(VALVE_OF[role]) if role in VALVE_OF else []
        sent: dict[str, bool] = {}
        waits: dict[str, asyncio.Future[None]] = {}
        for valve in valves:  # first: the valve is shut before anyone is told of the alarm
            waits[valve.friendly_name] = asyncio.get_running_loop().create_future()
            self.valve_waits.setdefault(valve.friendly_name, []).append(waits[valve.friendly_name])
            link = self.owner.link
            sent[valve.friendly_name] = bool(link) and await link.publish(  # type: ignore[union-attr]
                f"{self.owner.base}/{valve.friendly_name}/set", CLOSE)
        data: dict[str, Any] = {"device": name, "room": known.room, "model": known.model,
                                "valves": [{"device": v, "sent": ok} for v, ok in sent.items()]}
        event = await ctx.alarms.open(ALARMS[role], data, key=f"{role}:{name}", ts=ts, lasting=True,
                                      facts={"device": name, "room": known.room})
        ctx.say(f"zigbee_{role}_alarm", room=known.room, about=event.id)
        for valve in valves:
            name = valve.friendly_name
            ctx.spawn(f"zigbee.valve.{name}", self._confirm(valve, event.id, sent[name], waits[name]))

    async def _confirm(self, valve: z.Known, alarm_id: str, sent: bool, waiting: asyncio.Future[None]) -> None:
        name = valve.friendly_name
        start = self.ctx.clock.monotonic()
        closed = False
        if sent:
            try:
                await asyncio.wait_for(asyncio.shield(waiting), self.owner.cfg["valve_confirm_s"])
                closed = True
            except TimeoutError:
                pass
        if waiting in self.valve_waits.get(name, []):
            self.valve_waits[name].remove(waiting)
        base = {"device": name, "room": valve.room, "alarm_id": alarm_id, "role": valve.role}
        if closed:
            after = round(self.ctx.clock.monotonic() - start, 2)
            await self.ctx.raise_event("valve.closed", {**base, "after_s": after})
            self.ctx.say(f"zigbee_{valve.role}_closed", about=alarm_id)  # gas_valve / water_valve: which one
            return
        reason = "no_confirmation" if sent else "not_sent"
        log.error("valve %s (%s) did not confirm it closed (%s)", name, valve.room, reason)
        await self.ctx.raise_event("fault.valve", {**base, "reason": reason, "waited_s": self.owner.cfg[
            "valve_confirm_s"] if sent else 0, "remedy": REMEDY["valve"]})
        self.ctx.say(f"zigbee_{valve.role}_fault", about=alarm_id)

    async def _clear_now(self, known: z.Known, ts: datetime) -> None:
        role, name = known.role or "", known.friendly_name
        if role == "smoke":
            await self._smoke(known, False)
            return
        alarm = self.ctx.alarms.get(f"{role}:{name}")
        await self.ctx.alarms.change(f"{role}:{name}", f"{ALARMS[role]}_cleared",
                                     {"device": name, "room": known.room,
                                      **(alarm.ended() if alarm else {"alarm_id": None})}, ts=ts, cleared=True)

    async def _smoke(self, known: z.Known, present: bool) -> None:
        name, part = known.friendly_name, f"zigbee {known.friendly_name} {known.model} ({known.room})"
        fire: Fire | None = as_peer(self.ctx.component("home_sensors"), Fire)
        if fire is not None:  # the home's fire alarm: one alarm, its announcements and buzzer
            if present:
                if await fire.smoke_seen(True, part, "zigbee", room=known.room or "") is not None:
                    self.smoke_raised.add(name)
            elif name in self.smoke_raised:
                self.smoke_raised.discard(name)
                if not self.smoke_raised:
                    await fire.smoke_seen(False, part, "zigbee")
            return
        # No home sensors fitted: the same alarm.fire, opened here (key fire:smoke, as hub.home uses).
        if present:
            self.ctx.feedback("alarm")
            event = await self.ctx.alarms.open("alarm.fire", {"cause": "smoke", "part": part, "source": "zigbee"},
                                               key="fire:smoke", lasting=True, facts={"cause": "smoke"})
            if known.room:  # "厨房检测到烟雾…", as hub.home says it
                self.ctx.say("sensors_fire_alarm_in", about=event.id, room=known.room)
            else:
                self.ctx.say("sensors_fire_alarm", about=event.id)
        else:
            alarm = self.ctx.alarms.get("fire:smoke")
            if alarm is not None and alarm.present:
                await self.ctx.alarms.change("fire:smoke", "alarm.fire_cleared", {
                    "cause": "smoke", "alarm_id": alarm.id, "part": part, "acked": alarm.acknowledged,
                    "duration_s": round(max(0.0, self.ctx.clock.now().timestamp() - alarm.opened), 1)}, cleared=True)
                self.ctx.feedback("alarm_off")
                self.ctx.say("sensors_fire_cleared")

    def _sos(self, known: z.Known, action: str, ts: datetime) -> None:
        calls: Calls | None = as_peer(self.ctx.component("calls"), Calls)
        if calls is None:
            log.error("SOS button %s pressed but no call manager runs", known.friendly_name)
            return
        device = f"zigbee:{known.friendly_name}"
        if action in z.SOS_ACTIONS or action == "single":
            self.ctx.spawn(f"zigbee.sos.{known.friendly_name}", calls.raise_wireless(device, known.room or "",
                                                                                     "emergency", ts))
        elif action in ("hold", "long"):
            self.ctx.spawn(f"zigbee.sos_cancel.{known.friendly_name}", calls.cancel_wireless(device))

    # --- faults -----------------------------------------------------------------------------------------
    def fault(self, name: str, cfg: dict[str, str], kind: str, detail: str, present: bool) -> None:
        key = f"{kind}:{name}"
        if present == (key in self.faults):
            return
        fault_id = ""
        if present:
            self.faults[key] = ""  # its event id once committed
        else:
            fault_id = self.faults.pop(key)
        data = {"device": name, "room": cfg.get("room", ""), "role": cfg.get("role", ""), "kind": kind}
        self.ctx.spawn(f"zigbee.fault.{key}", self._fault(key, data, detail, present, fault_id))

    async def _fault(self, key: str, data: dict[str, Any], detail: str, present: bool, fault_id: str) -> None:
        if present:
            log.warning("zigbee fault: %s %s (%s): %s", data["kind"], data["device"], data["room"], detail)
            event = await self.ctx.raise_event("fault.zigbee", {**data, "detail": detail[:300],
                                                                "remedy": REMEDY[data["kind"]]})
            if key in self.faults:
                self.faults[key] = event.id
        else:
            await self.ctx.raise_event("fault.zigbee_cleared", {**data, "fault_id": fault_id or None})

    def close(self) -> None:
        for waits in self.valve_waits.values():
            for waiting in waits:
                waiting.cancel()
