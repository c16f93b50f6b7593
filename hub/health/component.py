"""Blood pressure and glucose from Bluetooth meters -> graded measurement events, alerts, follow-ups.

Every reading becomes `measurement.blood_pressure` / `measurement.glucose` with the raw and graded
values. A reading over an urgent-referral line raises `health.alert` at once and speaks advice to
the resident. After each reading the last `trend_days` of readings give the management level
(一级/二级/三级); when it calls for it, `health.follow_up` goes out, at most once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event, iso_ms
from hub.health.grading import Thresholds, grade_bp, grade_glucose, trend
from sensors.meter_readings import BloodPressureReading, GlucoseReading, MeterSettings, Reading
from sensors.meter_store import MeterStore
from sensors.meters import MeterCoordinator

log = logging.getLogger(__name__)
FOLLOW_UP_KEY = "health.last_follow_up"
ADVICE = {
    "bp_grade_3": "health_bp_very_high",
    "glucose_dangerous": "health_glucose_very_high",
    "glucose_low": "health_glucose_low",
}


def meter_settings(ble: dict[str, Any]) -> MeterSettings:
    return MeterSettings(
        connect_timeout_s=ble["connect_timeout_s"],
        racp_timeout_s=ble["racp_timeout_s"],
        bp_idle_s=ble["bp_idle_s"],
        cooldown_s=ble["cooldown_s"],
        backoff_min_s=ble["backoff_min_s"],
        backoff_max_s=ble["backoff_max_s"],
        write_time=ble["write_time"],
        future_tolerance_min=ble["future_tolerance_min"],
        max_age_days=ble["max_age_days"],
        adapter=ble["adapter"],
    )


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else iso_ms(ts)


class HealthMeters:
    name = "health"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.grading = config["health_grading"]
        self.thresholds = Thresholds.from_config(self.grading)
        self.store: MeterStore | None = None
        self.coordinator: MeterCoordinator | None = None
        self._ctx: HubContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_alert: dict[tuple[str, str], datetime] = {}

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.store = await asyncio.to_thread(MeterStore.in_state_dir, self.config.state_dir)
        tz = ctx.clock.now().tzinfo
        assert tz is not None
        self.coordinator = MeterCoordinator(
            self.store,
            self.on_reading,
            tz=tz,
            now=ctx.clock.now,
            settings=meter_settings(self.config["ble"]),
            client_backend=ctx.hardware.ble_client_backend,
            scanner_backend=ctx.hardware.ble_scanner_backend,
        )
        paired = await asyncio.to_thread(self.store.meters)
        ctx.set_status("ble_meters", [{"address": m.address, "kind": m.kind, "name": m.name} for m in paired])
        self._task = ctx.spawn("ble.meters", self.coordinator.run())

    async def on_reading(self, reading: Reading) -> None:
        """Called by the coordinator for each new reading; returns once the events are committed."""
        ctx, store = self._ctx, self.store
        assert ctx is not None and store is not None
        when = (
            reading.meter_time if reading.time_status == "ok" and reading.meter_time else reading.received_at
        )
        common = {
            "meter": reading.meter,
            "meter_time": _iso(reading.meter_time),
            "time_status": reading.time_status,
            "received_at": iso_ms(reading.received_at),
        }
        if isinstance(reading, BloodPressureReading):
            g = grade_bp(reading.systolic_mmhg, reading.diastolic_mmhg, self.thresholds)
            data: dict[str, Any] = {
                **common,
                "systolic": reading.systolic_mmhg,
                "diastolic": reading.diastolic_mmhg,
                "mean_arterial": reading.mean_arterial_mmhg,
                "pulse": reading.pulse,
                "unit": "mmHg",
                "user_id": reading.user_id,
                "status": reading.status,
                "raw": reading.raw,
                "grade": g.grade,
                "isolated_systolic": g.isolated_systolic,
                "referral": g.referral,
            }
            event = await ctx.raise_event("measurement.blood_pressure", data, ts=when)
            ctx.activity.note("ble:bp", reading.received_at)
            await asyncio.to_thread(
                store.add_history, "bp", when, reading.systolic_mmhg, reading.diastolic_mmhg
            )
            if g.referral:
                await self._alert(
                    "blood_pressure",
                    "bp_grade_3",
                    event,
                    reading.meter,
                    {
                        "systolic": reading.systolic_mmhg,
                        "diastolic": reading.diastolic_mmhg,
                        "grade": g.grade,
                    },
                )
        else:
            assert isinstance(reading, GlucoseReading)
            mmol, beyond = reading.mmol_per_l, reading.out_of_range
            gg = grade_glucose(mmol, reading.meal, self.thresholds, beyond)
            data = {
                **common,
                "sequence": reading.sequence,
                "mmol_per_l": mmol,  # null when the meter showed HI/LO: see out_of_range
                "category": gg.category,
                "graded_as_fasting": gg.fasting,
                "referral": gg.referral,
                "type": reading.type,
                "location": reading.location,
                "sensor_status": reading.sensor_status,
                "raw": {"concentration": reading.concentration, "unit": reading.unit},
            }
            if reading.meal is not None:
                data["meal"] = reading.meal
            if beyond is not None:
                data["out_of_range"] = beyond
            event = await ctx.raise_event("measurement.glucose", data, ts=when)
            ctx.activity.note("ble:glucose", reading.received_at)
            if mmol is not None:
                await asyncio.to_thread(store.add_history, "glucose", when, mmol, None, reading.meal)
            # A HI/LO reading is left out of the 7-day history: its value column is read back as a
            # number and averaged, a stand-in (the meter's limit) would understate a HI in the average
            # and ±inf would make it inf/NaN. The alert below is what must go out for it.
            if gg.referral:
                low = beyond == "low" or (
                    beyond is None and mmol is not None and mmol <= self.thresholds.referral_low
                )
                values: dict[str, Any] = {"mmol_per_l": mmol, "category": gg.category, "meal": reading.meal}
                if beyond is not None:
                    values["out_of_range"] = beyond
                reason = "glucose_low" if low else "glucose_dangerous"
                # HI/LO is held back only by an earlier HI/LO, not by an earlier in-range reading.
                repeat_key = reason if beyond is None else f"{reason}:{beyond}"
                await self._alert("glucose", reason, event, reading.meter, values, repeat_key)
        await self._trend()

    async def _alert(
        self,
        kind: str,
        reason: str,
        measurement: Event,
        meter: str,
        values: dict[str, Any],
        repeat_key: str | None = None,
    ) -> None:
        ctx = self._ctx
        assert ctx is not None
        now = ctx.clock.now()
        ctx.say(ADVICE[reason])  # the resident hears it even when a repeat alert is held back
        key = (meter, repeat_key or reason)
        last = self._last_alert.get(key)
        if last is not None and now - last < timedelta(minutes=self.grading["alert_repeat_min"]):
            log.info(
                "health alert %s from %s repeated within %d min: not raised again",
                reason,
                meter,
                self.grading["alert_repeat_min"],
            )
            return
        self._last_alert[key] = now
        await ctx.raise_event(
            "health.alert",
            {
                "kind": kind,
                "reason": reason,
                "measurement_id": measurement.id,
                "meter": meter,
                "values": values,
                "advice_prompt": ADVICE[reason],
            },
        )

    async def _trend(self) -> None:
        ctx, store = self._ctx, self.store
        assert ctx is not None and store is not None
        now = ctx.clock.now()
        days = self.grading["trend_days"]
        since = now - timedelta(days=days)
        bp = [(a, b) for a, b, _m in await asyncio.to_thread(store.history, "bp", since) if b is not None]
        glucose = [(a, meal) for a, _b, meal in await asyncio.to_thread(store.history, "glucose", since)]
        t = trend(bp, glucose, self.thresholds)
        await asyncio.to_thread(store.prune_history, now - timedelta(days=days * 5))
        ctx.set_status("management_level", t.level_name)
        if not t.follow_up:
            return
        last = await asyncio.to_thread(store.get_value, FOLLOW_UP_KEY)
        interval = timedelta(days=self.grading["follow_up_interval_days"])
        if last is not None and now - datetime.fromisoformat(last) < interval:
            return
        await ctx.raise_event(
            "health.follow_up",
            {
                "level": t.level,
                "level_name": t.level_name,
                "days": days,
                "reasons": list(t.reasons),
                "trend": t.to_json(),
            },
        )
        await asyncio.to_thread(store.set_value, FOLLOW_UP_KEY, now.isoformat())

    async def close(self) -> None:
        # The coordinator first: it reads the store, which must not close under it.
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
            self.store = None


def build(config: Config, hardware: Hardware) -> HealthMeters | None:
    if not config["ble"]["enabled"]:
        return None
    return HealthMeters(config)
