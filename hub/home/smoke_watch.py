"""Smoke: the relay input or the MQ-2/ADS1115 loop, turned into fire alarms and supervision.

The analog sensor compares against a clean-air baseline: `[smoke] baseline_v` if the installer wrote
one, else the one kept in state_dir, else it records one now (median of a few readings) and keeps it.
While the sensor is failing the smoke state is left as it was: a dead sensor does not clear a fire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.core.context import HubContext
from hub.core.files import atomic_write
from hub.home.fire_alarm import FireAlarms
from hub.home.supervision import FaultReporter
from sensors.errors import SensorError
from sensors.smoke import AnalogSmokeSensor, RelaySmokeInput, SmokeLevel, analog_sensor, resistance_ratio

log = logging.getLogger(__name__)

BASELINE_FILE = "smoke_baseline.json"
BASELINE_SAMPLES = 8


def load_baseline(state_dir: Path) -> float | None:
    try:
        value = json.loads((state_dir / BASELINE_FILE).read_text(encoding="utf-8"))["baseline_v"]
        return float(value) if isinstance(value, int | float) and value > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_baseline(state_dir: Path, volts: float, recorded: str) -> None:
    """Keep the clean-air baseline across restarts and power cuts; a card that refuses the write
    (full, read-only) costs only a new baseline after the next restart."""
    path = state_dir / BASELINE_FILE
    try:
        atomic_write(path, json.dumps({"baseline_v": round(volts, 4), "recorded": recorded}).encode())
    except OSError as exc:
        log.warning("smoke: cannot save the baseline to %s (%s); using it until the next restart", path, exc)


class SmokeWatch:
    def __init__(
        self,
        cfg: dict[str, Any],
        state_dir: Path,
        ctx: HubContext,
        fires: FireAlarms,
        faults: FaultReporter,
        on_change: Callable[[], None],
    ) -> None:
        self.s, self.bus_no = cfg["smoke"], cfg["sensors"]["i2c_bus"]
        self._on_change = on_change
        self.state_dir, self.ctx, self.fires, self.faults = state_dir, ctx, fires, faults
        self.smoke = False
        self.relay: RelaySmokeInput | None = None
        self.changes: asyncio.Queue[bool] = asyncio.Queue()
        self.sensor: AnalogSmokeSensor | None = None

    def open_relay(self, on_trouble: Callable[[], None] | None = None) -> RelaySmokeInput:
        loop = asyncio.get_running_loop()

        def changed(present: bool) -> None:  # gpiozero's thread
            loop.call_soon_threadsafe(self.changes.put_nowait, present)

        s = self.s
        self.relay = RelaySmokeInput(
            self.ctx.hardware.pin_factory, s["relay_pin"], s["relay_active_low"], changed, s["trouble_pin"],
            on_trouble
        )
        return self.relay

    async def _changed(self, present: bool, data: dict[str, Any]) -> None:
        # state changes only once the alarm (or its clear) is committed: a failed commit is retried
        if present:
            await self.fires.raise_("smoke", data)
        else:
            await self.fires.clear("smoke", data)
        self.smoke = present
        self._on_change()

    async def run_relay(self) -> None:
        relay = self.relay
        assert relay is not None, "open_relay() first"
        if relay.smoke != self.smoke:
            await self._changed(relay.smoke, {"source": "relay", "part": relay.part})
        while True:
            present = await self.changes.get()
            if present != self.smoke:
                await self._changed(present, {"source": "relay", "part": relay.part})

    async def check_trouble(self) -> None:
        """Called by the line watch (hub.home.line_watch): the trouble contact, debounced by the supervisor."""
        if self.relay is None or self.s["trouble_pin"] is None:
            return
        if self.relay.trouble:
            error = SensorError("trouble", self.relay.part, "trouble contact closed")
            await self.faults.failure("smoke", error, f"GPIO{self.s['trouble_pin']}")
        else:
            await self.faults.success("smoke")

    async def run_analog(self) -> None:
        s = self.s
        if self.sensor is None:
            self.sensor = analog_sensor(s, lambda: self.ctx.hardware.open_i2c(self.bus_no), self.bus_no)
        sensor = self.sensor
        where = f"ADS1115 0x{s['adc_address']:02x} AIN{s['adc_channel']}, I2C bus {self.bus_no}"
        baseline = s["baseline_v"] or load_baseline(self.state_dir)
        recording: list[float] = []
        level = SmokeLevel(s["alarm_ratio"], s["clear_ratio"])
        while True:
            try:
                sample = await asyncio.to_thread(sensor.read)
                ratio = resistance_ratio(sample.volts, baseline, s["supply_v"]) if baseline else None
            except SensorError as exc:
                await self.faults.failure("smoke", exc, where)
            except ValueError as exc:  # AO outside 0..supply: the config's supply_v/divider are wrong
                await self.faults.failure("smoke", SensorError("impossible", sensor.part, str(exc)), where)
            else:
                await self.faults.success("smoke")
                if baseline is None:
                    recording.append(sample.volts)
                    if len(recording) >= BASELINE_SAMPLES:
                        baseline = statistics.median(recording)
                        self._store_baseline(baseline)
                elif ratio is not None and level.feed(ratio) != self.smoke:
                    await self._changed(
                        level.smoke,
                        {
                            "source": "analog",
                            "part": sample.part,
                            "ratio": round(ratio, 3),
                            "volts": round(sample.volts, 3),
                            "baseline_v": round(baseline, 3),
                        },
                    )
            await asyncio.sleep(s["poll_s"])

    def _store_baseline(self, volts: float) -> None:
        log.info("recorded the smoke sensor's clean-air baseline: %.3f V", volts)
        try:
            save_baseline(self.state_dir, volts, self.ctx.clock.now().isoformat(timespec="seconds"))
        except OSError as exc:
            log.warning("cannot keep the smoke baseline in %s: %s", self.state_dir, exc)

    def close(self) -> None:
        for device in (self.relay, self.sensor):
            if device is not None:
                device.close()
