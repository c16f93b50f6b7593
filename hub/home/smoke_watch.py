"""Smoke: the relay input or the MQ-2/ADS1115 loop, turned into fire alarms and supervision.

With the ADS1115's ALERT/RDY wired (`[smoke] alert_pin`) the chip's comparator watches between readings:
the hub reads once every `alert_check_s` (supervision) and at once when the line asserts near the alarm
point, then every `poll_s` while near it or smoky. The reading decides smoke exactly as without the
comparator; the line only decides when to read. Unwired (checked at start: the comparator is made to
fire once), the hub reads every `poll_s`.

The analog sensor compares against a clean-air baseline: `[smoke] baseline_v` if the installer wrote
one, else the one kept in state_dir, else it records one now (median of a few readings) and keeps it.
While the sensor is failing the smoke state is left as it was: a dead sensor does not clear a fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.core.context import HubContext
from hub.core.files import atomic_write
from hub.core.ticks import next_instant
from hub.home.fire_alarm import FireAlarms
from hub.home.supervision import FaultReporter
from sensors.errors import SensorError
from sensors.smoke import (
    AlertInput,
    AnalogSample,
    AnalogSmokeSensor,
    RelaySmokeInput,
    SmokeLevel,
    analog_sensor,
    resistance_ratio,
    volts_for_ratio,
)

log = logging.getLogger(__name__)

BASELINE_FILE = "smoke_baseline.json"
BASELINE_SAMPLES = 8
NEAR = 1.05  # the comparator wakes the hub at 5 % above the alarm ratio, and rests again 5 % further
PROBE_V = 10.0  # thresholds far below 0 V: the comparator asserts at its next conversion (wiring check)
PROBE_S = 1.0  # two conversions at 8/s take 0.25 s; no answer within this: the line is not wired


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
        self.alert: AlertInput | None = None
        self.alert_wired: bool | None = None  # None until checked at the first arming
        self._edge = asyncio.Event()
        self._last_edge = float("-inf")  # when an ALERT edge last woke the loop
        self.edge_wakeups = 0

    def open_relay(self, on_trouble: Callable[[], None] | None = None) -> RelaySmokeInput:
        loop = asyncio.get_running_loop()

        def changed(present: bool) -> None:  # the GPIO library's alert thread
            loop.call_soon_threadsafe(self.changes.put_nowait, present)

        s = self.s
        self.relay = RelaySmokeInput(
            self.ctx.hardware.gpio, s["relay_pin"], s["relay_active_low"], changed, s["trouble_pin"],
            on_trouble
        )
        return self.relay

    async def _changed(self, present: bool, data: dict[str, Any]) -> None:
        # state changes only once the alarm (or its clear) is committed: a failed commit is retried
        if present:
            await self.fires.raise_("smoke", data, room=self.s["room"])
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
        if self.alert is None and s["alert_pin"] >= 0:
            self.alert = self._open_alert(s["alert_pin"])
        while True:
            healthy = False
            try:
                # once the line is proven, the reading and the re-arming are one trip to a worker thread
                band = self._band(baseline) if baseline and self.alert is not None and self.alert_wired else None
                sample = await asyncio.to_thread(_read_and_arm, sensor, band)
                ratio = resistance_ratio(sample.volts, baseline, s["supply_v"]) if baseline else None
                if baseline and self.alert is not None and self.alert_wired is None:
                    await self._arm(sensor, baseline)
            except SensorError as exc:
                await self.faults.failure("smoke", exc, where)
            except ValueError as exc:  # AO outside 0..supply: the config's supply_v/divider are wrong
                await self.faults.failure("smoke", SensorError("impossible", sensor.part, str(exc)), where)
            else:
                healthy = True
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
            await self._rest(healthy and sensor.armed and not level.smoke)

    # --- the comparator: ALERT/RDY wakes the hub near the threshold -----------------------------
    def _open_alert(self, pin: int) -> AlertInput:
        loop = asyncio.get_running_loop()

        def edge() -> None:  # the GPIO library's thread
            loop.call_soon_threadsafe(self._edge.set)

        return AlertInput(self.ctx.hardware.gpio, pin, edge)

    async def _arm(self, sensor: AnalogSmokeSensor, baseline: float) -> None:
        """Arm the comparator a little before the alarm point (the reading decides, as without it)."""
        s, alert = self.s, self.alert
        assert alert is not None
        if self.alert_wired is None:  # first time: is the line wired? make the comparator fire at once
            self._edge.clear()
            await asyncio.to_thread(sensor.arm, -PROBE_V, -PROBE_V / 2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_asserted(), PROBE_S)
            self.alert_wired = alert.asserted
            if not self.alert_wired:
                log.warning("烟雾传感器比较器无响应：检查 ADS1115 ALERT/RDY → GPIO%d 接线 (or set [smoke] alert_pin = "
                            "-1); the smoke sensor is read every %g s instead", s["alert_pin"], s["poll_s"])
                return
        band = self._band(baseline)
        if band is not None:
            await asyncio.to_thread(sensor.arm, *band)

    def _band(self, baseline: float) -> tuple[float, float] | None:
        """(low, high) AO volts for the comparator: it asserts a little before the alarm point and rests
        a little further below; None (and polling from now on) where the ADC could never see it cross."""
        s = self.s
        near = s["alarm_ratio"] * NEAR
        high = volts_for_ratio(near, baseline, s["supply_v"])
        low = volts_for_ratio(near * NEAR, baseline, s["supply_v"])
        if high * s["divider"] >= 0.98 * s["adc_full_scale_v"]:
            self.alert_wired = False
            log.warning("smoke: the alarm point (%.2f V at the ADC) is at the ADS1115's full scale (%g V): "
                        "检查 [smoke] adc_full_scale_v / divider; the sensor is read every %g s instead",
                        high * s["divider"], s["adc_full_scale_v"], s["poll_s"])
            return None
        return low, high

    async def _wait_asserted(self) -> None:
        assert self.alert is not None
        while not self.alert.asserted:
            await self._edge.wait()
            self._edge.clear()

    async def _rest(self, may_sleep: bool) -> None:
        """Until the next reading: an ALERT edge or alert_check_s while armed and quiet, else poll_s."""
        alert = self.alert
        if not may_sleep or alert is None or not self.alert_wired:
            await asyncio.sleep(self.s["poll_s"])
            return
        self._edge.clear()
        if alert.asserted:  # near the alarm point: read at poll_s until smoke, or the line is released
            await asyncio.sleep(self.s["poll_s"])
            return
        check_at = next_instant(self.s["alert_check_s"], asyncio.get_running_loop().time())  # hub.core.ticks
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(check_at):
                await self._edge.wait()
            self.edge_wakeups += 1
            # a line that chatters (noise, a loose wire) costs at most one reading per poll_s
            await asyncio.sleep(max(0.0, self._last_edge + self.s["poll_s"] - self.ctx.clock.monotonic()))
            self._last_edge = self.ctx.clock.monotonic()

    def _store_baseline(self, volts: float) -> None:
        log.info("recorded the smoke sensor's clean-air baseline: %.3f V", volts)
        try:
            save_baseline(self.state_dir, volts, self.ctx.clock.now().isoformat(timespec="seconds"))
        except OSError as exc:
            log.warning("cannot keep the smoke baseline in %s: %s", self.state_dir, exc)

    def close(self) -> None:
        for device in (self.relay, self.sensor, self.alert):
            if device is not None:
                device.close()


def _read_and_arm(sensor: AnalogSmokeSensor, band: tuple[float, float] | None) -> AnalogSample:
    """On a worker thread: one single-shot reading, then the comparator armed again (the reading stops it)."""
    sample = sensor.read()
    if band is not None:
        sensor.arm(*band)
    return sample
