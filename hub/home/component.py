"""The home sensors component: PIR, smoke, temperature/humidity and mains power wired to the hub.

Each sensor runs in its own named task, so a failing one never stops the others (or the call
button): every read is caught, classified and handed to the supervisor, and a loop that hits a bug
is logged and restarted. Blocking I2C reads run in a thread. Alarms come from hub.home.climate_rules and
hub.home.fire_alarm, smoke handling from hub.home.smoke_watch, faults from hub.home.supervision.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.ticks import sleep_aligned
from hub.home.climate_rules import ClimateRules, Decision, Thresholds
from hub.home.fire_alarm import FireAlarms
from hub.home.line_watch import LineWatch
from hub.home.smoke_watch import SmokeWatch
from hub.home.supervision import FaultReporter, Supervisor
from sensors.climate import PARTS, ClimateReading, ClimateSensor, StuckDetector, temperature_address
from sensors.errors import SensorError

log = logging.getLogger(__name__)

RESTART_S = 5.0


class HomeSensors:
    name = "home_sensors"

    def __init__(self, config: Config) -> None:
        self.config, self.cfg = config, config.data
        self.supervisor = Supervisor(
            self.cfg["sensors"]["fault_after_s"], self.cfg["sensors"]["clear_after_s"]
        )
        self.activity_count = 0  # PIR rising edges since the last telemetry
        self.last_motion: str | None = None
        self.climate: ClimateReading | None = None
        self._ctx: HubContext | None = None
        self._fires: FireAlarms | None = None
        self._faults: FaultReporter | None = None
        self._smoke: SmokeWatch | None = None
        self._devices: list[Any] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._pir: Any = None
        self.lines: LineWatch | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._fires = FireAlarms(ctx, self.cfg["smoke"]["announce_s"])
        self._faults = FaultReporter(ctx, self.supervisor, self._publish_status)
        lines = self.lines = LineWatch(ctx, self.cfg, self.faults)
        if self.cfg["motion"]["fitted"]:
            from sensors.motion import PirInput

            loop = asyncio.get_running_loop()

            def motion() -> None:  # the GPIO library's alert thread: stamp the time now, act on the loop
                loop.call_soon_threadsafe(self._on_motion, ctx.clock.now())
                lines.poke()

            lines.pir = self._pir = self._own(
                PirInput(ctx.hardware.gpio, self.cfg["motion"]["pin"], motion, lines.poke))
        kind = self.cfg["smoke"]["kind"]
        if kind != "none":
            self._smoke = self._own(
                SmokeWatch(
                    self.cfg, self.config.state_dir, ctx, self._fires, self._faults, self._publish_status
                )
            )
            lines.smoke = self._smoke
            if kind == "relay":
                self._smoke.open_relay(lines.poke)
                self._spawn("sensors.smoke", self._smoke.run_relay)
            else:
                self._spawn("sensors.smoke", self._smoke.run_analog)
        if self.cfg["temperature"]["part"] != "none":
            self._spawn("sensors.climate", self._climate_loop)
        p = self.cfg["power"]
        if p["fitted"]:
            from sensors.power import PowerInputs

            lines.power = self._own(PowerInputs(ctx.hardware.gpio, p["good_pin"], p["low_battery_pin"],
                                                lines.poke))
        self._spawn("sensors.watch", lines.run)
        self._spawn("sensors.telemetry", self._telemetry_loop)
        self._publish_status()

    def _own(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    def _spawn(self, name: str, loop_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._tasks.append(self.ctx.spawn(name, self._guarded(name, loop_fn)))

    async def _guarded(self, name: str, loop_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A bug in one sensor loop is logged and the loop restarted; it never takes the hub down."""
        while True:
            try:
                await loop_fn()
            except Exception:
                log.exception("sensor task %s failed; restarting it in %g s", name, RESTART_S)
            await asyncio.sleep(RESTART_S)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self._fires is not None:
            self._fires.close()
        for device in self._devices:
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", device)
        self._devices.clear()

    @property
    def ctx(self) -> HubContext:
        assert self._ctx is not None, "HomeSensors used before start()"
        return self._ctx

    @property
    def faults(self) -> FaultReporter:
        assert self._faults is not None, "HomeSensors used before start()"
        return self._faults

    # --- motion -----------------------------------------------------------------------------------
    def _on_motion(self, ts: datetime) -> None:
        self.activity_count += 1
        self.last_motion = ts.isoformat(timespec="seconds")
        self.ctx.activity.note("pir", ts)
        self.ctx.set_status("last_motion", self.last_motion)

    # --- temperature ------------------------------------------------------------------------------
    async def _climate_loop(self) -> None:
        t, bus_no = self.cfg["temperature"], self.cfg["sensors"]["i2c_bus"]
        address = temperature_address(self.cfg)
        sensor = ClimateSensor(
            lambda: self.ctx.hardware.open_i2c(bus_no), t["part"], address, t["min_c"], t["max_c"], bus_no
        )
        where = f"{PARTS[t['part']]} 0x{address:02x}, I2C bus {bus_no}"
        rules = ClimateRules(Thresholds.from_config(t), self.ctx.clock.monotonic())
        armed_at: float | None = rules.started_at + t["inhibit_s"]
        if t["inhibit_s"] > 0:
            log.info("heat/cold alarms start %.0f min after power-up, while the sensor settles "
                     "([temperature] inhibit_s = %g); fire (rate of rise) is armed now", t["inhibit_s"] / 60,
                     t["inhibit_s"])
        stuck = StuckDetector(t["stuck_s"])
        while True:
            now = self.ctx.clock.monotonic()
            if armed_at is not None and now >= armed_at:
                armed_at = None
                if t["inhibit_s"] > 0:
                    log.info("heat/cold alarms armed")
            try:
                reading = await asyncio.to_thread(sensor.read)
                if stuck.feed(now, reading.raw):
                    raise SensorError(
                        "stuck", reading.part, f"raw {reading.raw} unchanged for {t['stuck_s']:g} s"
                    )
            except SensorError as exc:
                await self.faults.failure("temperature", exc, where)
            else:
                await self.faults.success("temperature")
                self.climate = reading
                for decision in rules.feed(now, reading.temperature_c):
                    await self._climate_decision(decision, reading)
                self._publish_status()
            await sleep_aligned(t["poll_s"])  # on the shared grid (hub.core.ticks)

    async def _climate_decision(self, d: Decision, reading: ClimateReading) -> None:
        assert self._fires is not None
        base: dict[str, Any] = {"temperature_c": round(d.temperature_c, 2), "part": reading.part}
        if d.kind == "rate_of_rise":
            if d.action == "alarm":
                await self._fires.raise_(
                    "rate_of_rise",
                    {
                        **base,
                        "rate_c_per_min": round(d.rate_c_per_min or 0, 2),
                        "window_s": round(d.window_s or 0),
                    },
                )
            else:
                await self._fires.clear("rate_of_rise", base)
            return
        data = {**base, "threshold_c": d.threshold}
        if d.action == "clear":
            # cleared: the event says which alarm it ends and whether anyone had taken it (AlarmRegistry.change)
            await self.ctx.alarms.change(d.kind, f"alarm.{d.kind}_cleared", data, cleared=True)
            return
        data.update(sustained_s=round(d.t - (d.since if d.since is not None else d.t)), repeat=d.repeat)
        if reading.humidity_pct is not None:
            data["humidity_pct"] = round(reading.humidity_pct, 1)
        # One open alarm while it lasts (a repeat joins it and asks for a new ack).
        event = await self.ctx.alarms.open(f"alarm.{d.kind}", data, key=d.kind, lasting=True,
                                           facts={"temperature_c": data["temperature_c"]})
        # "社区已收到" once the broker has it (hub.speech.claims), else the offline wording
        self.ctx.say(f"sensors_{d.kind}_alarm", temperature=round(d.temperature_c), about=event.id)

    # --- telemetry and status ---------------------------------------------------------------------
    async def _telemetry_loop(self) -> None:
        period = self.cfg["sensors"]["telemetry_s"]
        while True:
            await sleep_aligned(period)
            await self.send_telemetry(period)

    def _environment(self) -> dict[str, Any]:
        c = self.climate if not self.supervisor.faulted("temperature") else None
        return {
            "temperature_c": round(c.temperature_c, 2) if c else None,
            "humidity_pct": round(c.humidity_pct, 1) if c and c.humidity_pct is not None else None,
            "smoke": bool(self._smoke and self._smoke.smoke),
        }

    async def send_telemetry(self, period_s: float) -> None:
        count, self.activity_count = self.activity_count, 0
        await self.ctx.raise_event(
            "telemetry.environment",
            {
                "period_s": period_s,
                "activity_count": count,
                "last_motion": self.last_motion,
                **self._environment(),
                "faults": sorted(self.supervisor.active()),
            },
        )

    async def smoke_seen(self, present: bool, part: str, source: str, room: str = "") -> str | None:
        """Smoke reported by another capability's sensor (a Zigbee smoke alarm, hub.zigbee, in `room`): the
        same fire alarm as the wired one. The event id raised or cleared, None when nothing changed."""
        if self._fires is None:
            return None
        if present:
            return await self._fires.raise_("smoke", {"part": part, "source": source}, room=room)
        return await self._fires.clear("smoke", {"part": part})

    def _publish_status(self) -> None:
        self.ctx.set_status("environment", {**self._environment(), "faults": self.supervisor.active()})


def build(config: Config, hardware: Hardware) -> HomeSensors | None:
    cfg = config.data
    fitted = (
        cfg["motion"]["fitted"]
        or cfg["smoke"]["kind"] != "none"
        or cfg["temperature"]["part"] != "none"
        or cfg["power"]["fitted"]
    )
    return HomeSensors(config) if fitted else None
