"""The lines that change rarely: PIR stuck high, the smoke alarm's trouble contact, mains power.

Edge-driven: each GPIO edge wakes the watch (`poke()`, thread-safe), and between edges it sleeps until
the next deadline it knows of (a PIR high for `stuck_active_s`, a trouble contact or a recovery the
supervisor debounces, power-good low for `lost_after_s`), or for good when nothing is pending. A hub at
rest has no timer here at all (the 0.5 s poll it replaced woke the CPU twice a second).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from sensors.errors import SensorError

if TYPE_CHECKING:
    from hub.core.context import HubContext
    from hub.home.smoke_watch import SmokeWatch
    from hub.home.supervision import FaultReporter

MIN_SLEEP_S = 0.05  # a deadline already passed is looked at again after this, never in a busy loop


class LineWatch:
    def __init__(self, ctx: HubContext, cfg: dict[str, Any], faults: FaultReporter) -> None:
        self.ctx, self.cfg, self.faults = ctx, cfg, faults
        self.pir: Any = None
        self.smoke: SmokeWatch | None = None
        self.power: Any = None
        self.wakeups = 0  # times the watch ran (edges and deadlines), for tests and bench/idle.py
        self._loop = asyncio.get_running_loop()
        self._poke = asyncio.Event()
        self._pir_high_since: float | None = None
        self._low_since: float | None = None
        self._lost_since: float | None = None
        self._battery_low = False

    def poke(self) -> None:
        """A line changed: look now. Safe from any thread (GPIO callbacks)."""
        self._loop.call_soon_threadsafe(self._poke.set)

    async def run(self) -> None:
        while True:
            self.wakeups += 1
            now = self.ctx.clock.monotonic()
            await self._watch_pir(now)
            if self.smoke is not None:
                await self.smoke.check_trouble()
            if self.power is not None:
                await self._watch_power(now)
            due = self._next_due(now)
            self._poke.clear()
            timeout = None if due is None else max(MIN_SLEEP_S, due - self.ctx.clock.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout)

    def _next_due(self, now: float) -> float | None:
        # only what this watch feeds the supervisor: the analog smoke loop feeds "smoke" on its own
        watched = ["pir"] if self.pir is not None else []
        if self.smoke is not None and self.smoke.relay is not None and self.cfg["smoke"]["trouble_pin"] is not None:
            watched.append("smoke")
        dues = [self.faults.supervisor.due(name) for name in watched]
        if self._pir_high_since is not None and not self.faults.supervisor.faulted("pir"):
            dues.append(self._pir_high_since + self.cfg["motion"]["stuck_active_s"])
        if self._low_since is not None and self._lost_since is None:
            dues.append(self._low_since + self.cfg["power"]["lost_after_s"])
        return min((d for d in dues if d is not None), default=None)

    async def _watch_pir(self, now: float) -> None:
        """A PIR re-arms within seconds; an output held high for hours is a fault."""
        if self.pir is None:
            return
        if not self.pir.active:
            self._pir_high_since = None
            await self.faults.success("pir")
            return
        self._pir_high_since = now if self._pir_high_since is None else self._pir_high_since
        held = now - self._pir_high_since
        if held >= self.cfg["motion"]["stuck_active_s"]:
            error = SensorError("stuck", self.pir.part, f"output high for {held:.0f} s")
            await self.faults.failure("pir", error, f"GPIO{self.cfg['motion']['pin']}")

    async def _watch_power(self, now: float) -> None:
        p, power, alarms = self.cfg["power"], self.power, self.ctx.alarms
        if power.mains_ok:
            self._low_since = None
            if self._lost_since is not None:
                await alarms.change("power.lost", "power.restored",  # + which alarm it ends, and if taken
                                    {"outage_s": round(now - self._lost_since, 1)}, cleared=True)
                self.ctx.say("sensors_power_restored")
                self._lost_since = None
        else:
            self._low_since = now if self._low_since is None else self._low_since
            if self._lost_since is None and now - self._low_since >= p["lost_after_s"]:
                self._lost_since = self._low_since
                lost = await alarms.open("power.lost", {"low_for_s": round(now - self._low_since, 1)},
                                         key="power.lost", lasting=True)
                self.ctx.say("sensors_power_lost", about=lost.id)
        if power.battery_low != self._battery_low:
            self._battery_low = power.battery_low
            if self._battery_low:
                await alarms.open("power.battery_low", {"mains_ok": power.mains_ok}, key="power.battery_low")
                self.ctx.say("sensors_battery_low")
        self.ctx.set_status("mains", "ok" if power.mains_ok else "lost" if self._lost_since is not None else "dip",
                            now=True)
