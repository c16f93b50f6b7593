"""Blood pressure, glucose and ketone from Bluetooth meters -> graded measurement events, alerts,
follow-ups, and meter errors spoken and counted.

Every reading becomes `measurement.blood_pressure` / `measurement.glucose` / `measurement.ketone` with
the raw and graded values (`hub/health/measurements.py`); a value the plausibility gate flagged is
published but not graded. A reading over an urgent-referral line (or a pulse beyond the pulse lines)
raises `health.alert` and speaks advice, unless it repeats an alert of the last `alert_repeat_min`
without being worse (`hub/health/alerts.py`): then the measurement carries `repeat_of`. A failed
measurement ("Err" on the meter) is spoken ("please rest five minutes and measure again") when it is
fresh and counted in the status (`ble_meter_errors`). After each reading the last `trend_days` give
the management level (一级/二级/三级); when it calls for it, `health.follow_up` goes out, at most once
per interval.

A hub with no meter paired does not listen at all: neither bleak nor the download code is imported
and the radio is left alone until `hub ble pair` (another process: the store's files are looked at on
the hub's timer grid, a `stat`, as the coordinator does) or the set-up page pairs one (`look_again()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import iso_ms
from hub.core.ticks import next_instant
from hub.health import measurements
from hub.health.alerts import AlertGate
from hub.health.grading import Thresholds, trend
from hub.health.measurements import ADVICE, KIND, Graded
from hub.health.readback import readback
from hub.health.vitals import VitalLines, severity
from sensors.meters.profiles import ProfileError, table
from sensors.meters.readings import (
    BloodPressureReading,
    GlucoseReading,
    KetoneReading,
    MeterErrorReading,
    MeterSettings,
    Reading,
)
from sensors.meters.store import MeterStore

if TYPE_CHECKING:
    from sensors.meters.coordinator import MeterCoordinator

log = logging.getLogger(__name__)
FOLLOW_UP_KEY = "health.last_follow_up"
ACTIVITY = {"measurement.blood_pressure": "ble:bp", "measurement.glucose": "ble:glucose",
            "measurement.ketone": "ble:ketone"}
ERROR_PROMPTS = {"bp": "health_bp_meter_error", "glucose": "health_glucose_meter_error"}


def meter_settings(ble: dict[str, Any]) -> MeterSettings:
    keys = (
        "connect_timeout_s",
        "racp_timeout_s",
        "bp_idle_s",
        "cooldown_s",
        "backoff_min_s",
        "backoff_max_s",
        "write_time",
        "future_tolerance_min",
        "max_age_days",
        "adapter",
        "download_max_s",
    )
    return MeterSettings(**{k: ble[k] for k in keys})


class HealthMeters:
    name = "health"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.grading = config["health_grading"]
        self.thresholds = Thresholds.from_config(self.grading)
        self.lines = VitalLines.from_config(self.grading)
        self.gate = AlertGate(self.grading["alert_repeat_min"])
        self.profiles_error: str | None = None
        extra = config["ble"]["extra_profiles"]
        try:
            self.profiles = table(Path(extra) if extra else None)
        except ProfileError as exc:  # a bad optional file must not stop the hub (calls, alarms)
            log.error(
                "仪器配置文件有误，只用内置配置 [ble] extra_profiles: %s; fix the file "
                "(format: sensors/meters/profiles.toml) and restart; using the built-in profiles",
                exc,
            )
            self.profiles_error = str(exc)
            self.profiles = table()
        self.store: MeterStore | None = None
        self.coordinator: MeterCoordinator | None = None
        self._ctx: HubContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._look = asyncio.Event()  # look_again(): a meter was paired in this process
        self.meter_errors: dict[str, dict[str, Any]] = {}

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.store = await asyncio.to_thread(MeterStore.in_state_dir, self.config.state_dir)
        paired = await asyncio.to_thread(self.store.meters)
        self._show_paired(paired)
        ctx.set_status("ble_meter_errors", self.meter_errors)
        if self.profiles_error is not None:
            ctx.set_status("ble_profiles_error", self.profiles_error)
        self._task = ctx.spawn("ble.meters", self._listen(bool(paired)))

    def look_again(self) -> None:
        """A meter was just paired (the set-up page, `hub sim`): read the paired list now."""
        self._look.set()

    def _show_paired(self, paired: list[Any]) -> None:
        assert self._ctx is not None
        self._ctx.set_status("ble_meters", [{"address": m.address, "kind": m.kind, "name": m.name} for m in paired])

    async def _listen(self, paired: bool) -> None:
        """Wait for a paired meter without bleak (the store's files looked at on the grid; when to read
        the list again is MeterStore.unchanged, as for the coordinator), then hand over to it for good."""
        ctx, store = self._ctx, self.store
        assert ctx is not None and store is not None
        loop, settings, looks = asyncio.get_running_loop(), meter_settings(self.config["ble"]), 0
        stamp = store.files_stamp()
        while not paired:
            now = loop.time()
            # asyncio.wait, not wait_for: Python 3.11's wait_for loses a cancel that comes as the wait ends
            look = asyncio.ensure_future(self._look.wait())
            try:
                await asyncio.wait([look], timeout=next_instant(settings.rescan_s, now) - now)
            finally:
                look.cancel()
            looks += 1
            fresh = store.files_stamp()
            if not self._look.is_set() and store.unchanged(stamp, fresh, looks):
                continue
            self._look.clear()
            stamp = fresh
            meters = await asyncio.to_thread(store.meters)
            paired = bool(meters)
            if paired:
                self._show_paired(meters)
        from sensors.meters.coordinator import MeterCoordinator  # bleak: only once there is a meter to hear

        tz = ctx.clock.now().tzinfo
        assert tz is not None
        self.coordinator = MeterCoordinator(
            store,
            self.on_reading,
            tz=tz,
            now=ctx.clock.now,
            settings=settings,
            client_backend=ctx.hardware.ble_client_backend,
            scanner_backend=ctx.hardware.ble_scanner_backend,
            profiles=self.profiles,
            next_instant=next_instant,
        )
        await self.coordinator.run()

    async def on_reading(self, reading: Reading) -> None:
        """Called by the coordinator for each new reading; returns once the events are committed."""
        ctx, store = self._ctx, self.store
        assert ctx is not None and store is not None
        if isinstance(reading, MeterErrorReading):
            self._meter_error(reading)
            return
        if isinstance(reading, BloodPressureReading):
            graded = measurements.blood_pressure(reading, self.thresholds, self.lines)
        elif isinstance(reading, GlucoseReading):
            graded = measurements.glucose(reading, self.thresholds)
        else:
            assert isinstance(reading, KetoneReading)
            graded = measurements.ketone(reading, self.lines)
        when = reading.meter_time if graded.data["time_source"] == "meter" and reading.meter_time else None
        await self._publish(graded, reading.meter, when or reading.received_at)
        ctx.activity.note(ACTIVITY[graded.event_type], reading.received_at)
        await self._trend()

    async def _publish(self, graded: Graded, meter: str, when: datetime) -> None:
        ctx, store = self._ctx, self.store
        assert ctx is not None and store is not None
        now = ctx.clock.now()
        ranked = [
            (reason, values, severity(reason, values, (self.thresholds.bp_sys[3], self.thresholds.bp_dia[3])))
            for reason, values in graded.alerts
        ]
        repeats = {reason: self.gate.repeat_of(meter, reason, sev, now) for reason, _v, sev in ranked}
        held = {reason: alert_id for reason, alert_id in repeats.items() if alert_id is not None}
        if held:
            graded.data["repeat_of"] = held
        event = await ctx.raise_event(graded.event_type, graded.data, ts=when)
        if graded.history is not None:
            kind, a, b, meal = graded.history
            await asyncio.to_thread(store.add_history, kind, when, a, b, meal)
        advice: list[tuple[str, dict[str, Any]]] = []
        for reason, values, sev in ranked:
            if reason in held:
                log.info(
                    "health alert %s from %s repeats %s (no worse, within %d min): not raised again",
                    reason,
                    meter,
                    held[reason],
                    self.grading["alert_repeat_min"],
                )
                # the resident hears the advice even when a repeat alert is held back
                advice.append((ADVICE[reason], {"about": held[reason]}))
                continue
            # An open alarm until the platform acks it (one per meter and reason: a worse reading joins it).
            alert = await ctx.alarms.open(
                "health.alert",
                {
                    "kind": KIND[reason],
                    "reason": reason,
                    "measurement_id": event.id,
                    "meter": meter,
                    "values": values,
                    "advice_prompt": ADVICE[reason],
                },
                key=f"health:{meter}:{reason}",
                facts={"kind": KIND[reason], "reason": reason, "values": values},
            )
            self.gate.raised(meter, reason, sev, now, alert.id)
            advice.append((ADVICE[reason], {"about": alert.id}))  # "…已通知社区" once the broker has it
        if not advice and graded.event_type == "measurement.blood_pressure" and graded.data.get("grade") == "grade_2":
            # no alert (that is grade 3), but not a number left unexplained either: what to do now
            advice.append(("health_bp_high", {}))
        # One utterance: the reading, then its advice, never cut between them (hub.speech.queue).
        spoken = readback(graded.event_type, graded.data, now)
        if spoken is not None:
            ctx.say(spoken[0], **spoken[1], then=tuple(advice))
        elif advice:
            ctx.say(advice[0][0], **advice[0][1], then=tuple(advice[1:]))

    def _meter_error(self, reading: MeterErrorReading) -> None:
        ctx = self._ctx
        assert ctx is not None
        entry = self.meter_errors.setdefault(reading.meter, {"kind": reading.kind, "count": 0})
        entry.update(count=entry["count"] + 1, last=iso_ms(reading.received_at), problem=reading.problem)
        ctx.set_status("ble_meter_errors", {m: dict(e) for m, e in self.meter_errors.items()})
        if reading.fresh:
            ctx.say(ERROR_PROMPTS[reading.kind])

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
        # Stored as wall time (it must outlive restarts); one in the future means the clock was set
        # back since, and counts as long ago.
        if last is not None and timedelta(0) <= now - datetime.fromisoformat(last) < interval:
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
