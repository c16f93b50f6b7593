"""Supervision of wireless triggers (EN 50134-2; JGJ/T 484-2019 weekly checks): a device not heard for
[supervision] supervision_h is `fault.trigger` (reason not_heard) naming it and its room, cleared when it is
heard again; a low battery is reported and spoken, again every battery_repeat_days until it is changed;
the weekly test asks the resident to press each wearable once (`trigger.tested`), and a wearable not tested
for untested_days is reported. Faults reach the platform at once; the resident hears them in the day window
only. Every device counts, those of [[triggers]] and those another integration reports through `heard()`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.core.context import HubContext
from hub.triggers.state import Device

if TYPE_CHECKING:
    from hub.triggers.component import Triggers

log = logging.getLogger(__name__)
CHECK_S = 60.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEARABLE = ("pendant", "wrist")
SPOKEN = {"not_heard": "trigger_not_heard", "battery_low": "trigger_battery_low"}
REMEDY = {
    "not_heard": "检查按钮电池和距离：按一下按钮，再运行 hub selftest --only triggers (check its battery and range: "
                 "press it, then run hub selftest --only triggers)",
    "battery_low": "更换按钮电池（如 CR2032），再按一下确认 (change the button's battery, then press it once)",
    "untested": "请老人按一下按钮或上门测试：hub selftest --only triggers (ask the resident to press it, or test it "
                "on a visit)",
    "test_failed": "检查按钮：电池、距离、绑定密钥，hub selftest --only triggers (check the button: battery, range, "
                   "bind key)",
    "counter_back": "检查按钮：计数器倒退（重放或换电池后重置）；在按钮应用里设新密钥并更新 [[triggers]] key (counter "
                    "went back: a replay, or a reset after a battery change; set a new bind key)",
}


class Supervisor:
    def __init__(self, owner: Triggers, ctx: HubContext) -> None:
        self.owner, self.ctx = owner, ctx
        self.cfg = owner.config["supervision"]
        try:
            self.zone: Any = ZoneInfo(owner.config["hub"]["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ctx.clock.now().tzinfo
        self._testing: str | None = None
        self._tested: asyncio.Future[None] | None = None
        self._test_task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self.ctx.spawn("triggers.supervise", self._loop())

    async def _loop(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_S)

    def _local(self) -> datetime:
        return self.ctx.clock.now().astimezone(self.zone)

    def daytime(self) -> bool:
        return self.cfg["day_start"] <= self._local().strftime("%H:%M") < self.cfg["day_end"]

    async def check(self) -> None:
        t = self.ctx.clock.now().timestamp()
        for tid, d in list(self.owner.state.devices.items()):
            if d.last_heard is not None and t - d.last_heard >= self.cfg["supervision_h"] * 3600 \
                    and "not_heard" not in d.faults:
                await self.fault(tid, d, "not_heard", f"not heard for {(t - d.last_heard) / 3600:.1f} h")
            if d.battery_low and (d.battery_told is None
                                  or t - d.battery_told >= self.cfg["battery_repeat_days"] * 86400):
                d.battery_told = t  # the repeat: reported and spoken again until the battery is changed
                await self.fault(tid, d, "battery_low", f"battery {d.battery_pct}%, still low")
            since = d.last_test if d.last_test is not None else d.bound_at  # never tested: since it was bound
            if tid in self.owner.items and d.kind in WEARABLE and since is not None \
                    and t - since >= self.cfg["untested_days"] * 86400 and "untested" not in d.faults:
                await self.fault(tid, d, "untested", f"not tested for {(t - since) / 86400:.0f} days"
                                 + ("" if d.last_test is not None else " (never since it was bound)"))
        if self.daytime() and (self._test_task is None or self._test_task.done()):
            for d in list(self.owner.state.devices.values()):
                for reason, prompt in SPOKEN.items():
                    if reason in d.faults and reason not in d.spoken:
                        d.spoken.append(reason)
                        self.ctx.say(prompt, room=d.room, room_en=d.room)
            if self._test_due():
                self._test_task = self.ctx.spawn("triggers.weekly_test", self.weekly_test())

    # --- events -------------------------------------------------------------------------------------
    async def fault(self, tid: str, d: Device, reason: str, detail: str) -> None:
        d.faults[reason] = d.faults.get(reason, "")  # claimed now: no second fault while this one commits
        if reason in d.spoken:
            d.spoken.remove(reason)
        event = await self.ctx.raise_event("fault.trigger", {
            "trigger": tid, "room": d.room, "kind": d.kind, "reason": reason, "detail": detail,
            "remedy": REMEDY[reason], "last_heard": local_iso(d.last_heard, self.zone), "battery_pct": d.battery_pct,
            "signal": d.signal})
        d.faults[reason] = event.id
        self.owner.save()

    async def clear(self, tid: str, d: Device, reason: str, fault_id: str) -> None:
        await self.ctx.raise_event("fault.trigger_cleared", {"trigger": tid, "room": d.room, "reason": reason,
                                                             "fault_id": fault_id})
        self.owner.save()

    def _clear_now(self, tid: str, d: Device, reason: str) -> None:
        if reason in d.faults:
            fault_id = d.faults.pop(reason)
            if reason in d.spoken:
                d.spoken.remove(reason)
            self.ctx.spawn(f"triggers.clear.{tid}", self.clear(tid, d, reason, fault_id))

    def heard(self, device_id: str, *, room: str, kind: str, battery_low: bool | None = None,
              battery_pct: int | None = None, signal: int | None = None) -> None:
        tid = str(device_id)[:64]
        d = self.owner.state.device(tid)
        d.room, d.kind = (str(room)[:24] or d.room), (str(kind)[:24] or d.kind)
        d.last_heard = self.ctx.clock.now().timestamp()
        if isinstance(signal, int | float) and not isinstance(signal, bool):
            d.signal = int(signal)
        low = battery_low if isinstance(battery_low, bool) else None
        if isinstance(battery_pct, int | float) and not isinstance(battery_pct, bool) and 0 <= battery_pct <= 100:
            d.battery_pct = int(battery_pct)
            if low is None and battery_pct <= self.cfg["battery_low_pct"]:
                low = True
            elif low is None and battery_pct > self.cfg["battery_low_pct"] + 10:
                low = False  # a changed battery; between the two: as it was (no flapping)
        self._clear_now(tid, d, "not_heard")
        if low and not d.battery_low:
            d.battery_low, d.battery_told = True, d.last_heard
            self.ctx.spawn(f"triggers.battery.{tid}", self.fault(tid, d, "battery_low", f"battery {d.battery_pct}%"))
        elif low is False and d.battery_low:
            d.battery_low, d.battery_told = False, None
            self._clear_now(tid, d, "battery_low")
        self.owner.save()

    def counter_went_back(self, tid: str) -> None:
        d = self.owner.state.device(tid)
        if "counter_back" not in d.faults:
            d.faults["counter_back"] = ""
            self.ctx.spawn(f"triggers.counter.{tid}", self.fault(tid, d, "counter_back",
                                                                  f"counter below {d.counter}: frame refused"))

    # --- the weekly test ----------------------------------------------------------------------------
    def _test_due(self) -> bool:
        local = self._local()
        return (DAYS[local.weekday()] == self.cfg["test_day"] and local.strftime("%H:%M") >= self.cfg["test_time"]
                and self.owner.state.test_run != local.date().isoformat()
                and any(t["kind"] in WEARABLE for t in self.owner.items.values()))

    def test_press(self, tid: str) -> bool:
        """True when this press is the one the weekly test asked for: a test, not a call (once: a second
        press is a call again)."""
        if self._testing == tid and self._tested is not None and not self._tested.done():
            self._tested.set_result(None)
            self._testing = None
            return True
        return False

    async def weekly_test(self) -> None:
        self.owner.state.test_run = self._local().date().isoformat()
        self.owner.save()
        for item in [t for t in self.owner.items.values() if t["kind"] in WEARABLE]:
            tid, d = item["id"], self.owner.state.device(item["id"])
            self._tested = asyncio.get_running_loop().create_future()
            self._testing = tid
            await self.ctx.speak("trigger_test_ask", room=item["room"], room_en=item["room"])
            try:
                await asyncio.wait_for(asyncio.shield(self._tested), self.cfg["test_wait_s"])
            except TimeoutError:
                self._testing = None
                self.ctx.say("trigger_test_missed", room=item["room"], room_en=item["room"])
                await self.fault(tid, d, "test_failed", "no press in the weekly test")
                continue
            d.last_test = self.ctx.clock.now().timestamp()
            await self.ctx.raise_event("trigger.tested", {"trigger": tid, "room": item["room"], "kind": item["kind"],
                                                          "battery_pct": d.battery_pct, "signal": d.signal})
            self.ctx.say("trigger_test_ok")
            for reason in ("untested", "test_failed"):
                self._clear_now(tid, d, reason)
            self.owner.save()


def local_iso(t: float | None, zone: Any) -> str | None:
    """In the hub's zone ([hub] timezone), as every other time the hub shows: not the system's (often UTC)."""
    return datetime.fromtimestamp(t, UTC).astimezone(zone).isoformat(timespec="seconds") if t else None
