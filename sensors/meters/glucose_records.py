"""What a glucose download does with the records it collected (`sensors/meters/glucose.py` collects):
each becomes a glucose reading, a ketone reading (a vendor's ketone test marked by a meal code, per
the quirk profile), a meter error (NaN: the meter failed) or nothing (control solution), placed in
time by the profile's time base, checked by the plausibility gate, de-duplicated, and the meter's
stored sequence moved on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from drivers.ble import gls, gls_context
from drivers.ble.sfloat import Special, finite
from sensors.meters.plausible import implausible_fields, log_implausible
from sensors.meters.readings import (
    GlucoseReading,
    KetoneReading,
    MeterDownload,
    MeterErrorReading,
    place_time,
)
from sensors.meters.store import PairedMeter

if TYPE_CHECKING:
    from sensors.meters.glucose import GlucoseSession

# The same logger as the download it belongs to: one name to grep for a glucose meter's story.
log = logging.getLogger("sensors.meters.glucose")
# A meter showing "HI" / "LO" sends the concentration as SFLOAT +INF / -INF (above / below its range).
OUT_OF_RANGE = {Special.POS_INF: "high", Special.NEG_INF: "low"}
TIME_FAULT = 1 << 11  # Sensor Status Annunciation "time fault has occurred"


def dedup_time(m: gls.GlucoseMeasurement) -> str:
    """The meter's own stamp, raw: year-0 stamps stay distinct by their other fields."""
    return f"{m.base_time.encode().hex()}{m.time_offset_min or 0:+d}"


def ketone_mmol(m: gls.GlucoseMeasurement) -> float | None:
    """The vendor's ketone value: the concentration read as mg/dL glucose, divided by 10."""
    value = finite(m.concentration)
    if value is None:
        return None
    mg_dl = value * 100_000 if m.unit == "kg/L" else value * 1000 * gls.MG_PER_DL_PER_MMOL_L
    return round(mg_dl / 10, 1)


class GlucoseRecords(MeterDownload):
    renumbered: int | None = None  # the last sequence received came again on another reading (this visit)
    kept = 0  # records new to the hub (this visit)

    def _meter_time(self, m: gls.GlucoseMeasurement, received: datetime) -> tuple[datetime | None, str, str | None]:
        naive = m.time(apply_offset=self.profile.time_base == "local")
        when, status = place_time(
            naive,
            m.base_time,
            received,
            self.tz,
            self.settings.future_tolerance_min,
            self.settings.max_age_days,
            utc=self.profile.time_base == "utc",
        )
        problem = m.time_problem
        if status == "ok" and naive is None:
            status = "invalid"
        fault = self.features is not None and self.features.supports("time_fault")
        if fault and (m.sensor_status or 0) & TIME_FAULT and status == "ok":
            status, problem = "invalid", "the meter reports a time fault for this record"
        return when, status, problem

    async def _flush(self, s: GlucoseSession, meter: PairedMeter, *, complete_only: bool) -> None:
        # In meter-time order: meters that number backwards send the newest first.
        in_order = sorted(s.records.items(), key=lambda kv: kv[1][0].time() or datetime.min)
        marker = self.profile.ketone_meal_code
        for key, (m, received, raw) in in_order:
            waiting = m.context_follows and m.sequence not in s.contexts
            if waiting and (complete_only or marker is not None):
                # Its context may be on the way; the next download brings both. A meter that marks
                # ketone tests in the context never has a record graded as glucose without it.
                s.held.add(m.sequence)
                if not complete_only:
                    log.warning(
                        "glucose record #%d from %s announced a context that never came; held back "
                        "(profile %s marks ketone tests there) and asked for again next visit",
                        m.sequence,
                        meter.address,
                        self.profile.id,
                    )
                continue
            await self._emit_glucose(meter, m, s.contexts.get(m.sequence), received, key[1], raw)
            s.emitted.add(m.sequence)
            s.held.discard(m.sequence)
            del s.records[key]

    async def _emit_glucose(
        self,
        meter: PairedMeter,
        m: gls.GlucoseMeasurement,
        ctx: gls_context.GlucoseContext | None,
        received: datetime,
        key: str,
        raw: bytes,
    ) -> None:
        if await asyncio.to_thread(self.store.seen, meter.address, m.sequence, key):
            log.debug("glucose record #%d from %s already received: kept once", m.sequence, meter.address)
            return
        if self.renumbered is not None:
            return  # the counter went back: the whole memory is read again next, in time order
        if m.sequence == meter.last_sequence and not (meter.reversed or self.profile.numbers_backwards):
            self.renumbered = m.sequence  # the last number again, on a reading the hub has not had
            return
        self.kept += 1
        mmol = m.mmol_per_l
        out_of_range = OUT_OF_RANGE.get(m.concentration) if isinstance(m.concentration, Special) else None
        when, status, problem = self._meter_time(m, received)
        ketone = ctx is not None and ctx.meal_code is not None and ctx.meal_code == self.profile.ketone_meal_code
        if m.is_control_solution:
            log.info("control-solution test #%d from %s discarded", m.sequence, meter.address)
        elif m.concentration is None:
            log.warning(
                "glucose record #%d from %s has no usable value (no concentration); skipped", m.sequence, meter.address
            )
        elif mmol is None and out_of_range is None:  # NaN, NRes, reserved: the meter failed
            log.warning(
                "glucose record #%d from %s has no usable value (%s); counted as a meter error",
                m.sequence,
                meter.address,
                m.to_json()["concentration"],
            )
            fresh = self.fresh(when if status == "ok" else None, received)
            await self.on_reading(
                MeterErrorReading(
                    meter.address,
                    "glucose",
                    received,
                    when,
                    f"concentration {m.to_json()['concentration']}",
                    raw.hex(),
                    fresh,
                )
            )
        elif ketone:
            value = ketone_mmol(m)
            values = {"ketone_mmol_per_l": value}
            flagged = implausible_fields(values) if value is not None else ("ketone_mmol_per_l",)
            log_implausible(log, meter.address, flagged, values, raw)
            log.info(
                "record #%d from %s is a ketone test (meal code %d, profile %s)",
                m.sequence,
                meter.address,
                self.profile.ketone_meal_code,
                self.profile.id,
            )
            await self.on_reading(
                KetoneReading(
                    meter=meter.address,
                    received_at=received,
                    meter_time=when,
                    time_status=status,
                    sequence=m.sequence,
                    mmol_per_l=value if value is not None else 0.0,
                    concentration=finite(m.concentration),
                    unit=m.unit or "",
                    profile=self.profile.id,
                    implausible=flagged,
                    time_problem=problem,
                )
            )
        else:
            values = {"mmol_per_l": mmol}
            flagged = implausible_fields(values)
            log_implausible(log, meter.address, flagged, values, raw)
            await self.on_reading(
                GlucoseReading(
                    meter=meter.address,
                    received_at=received,
                    meter_time=when,
                    time_status=status,
                    sequence=m.sequence,
                    mmol_per_l=mmol,
                    out_of_range=out_of_range,
                    meal=ctx.meal if ctx else None,
                    type=m.type,
                    location=m.location,
                    sensor_status=m.status_names(),
                    unit=m.unit or "",
                    concentration=finite(m.concentration),
                    implausible=flagged,
                    profile=self.profile.id,
                    time_problem=problem,
                )
            )
        await asyncio.to_thread(self.store.mark_seen, meter.address, m.sequence, key)

    async def _backwards(self, s: GlucoseSession, meter: PairedMeter) -> bool:
        if self.profile.numbers_backwards or meter.reversed:
            return True
        if _numbers_backwards(s.order):
            log.info("meter %s numbers records backwards; will always ask for all", meter.address)
            await asyncio.to_thread(self.store.set_reversed, meter.address, True)
            return True
        return False

    async def _after_success(self, s: GlucoseSession, meter: PairedMeter) -> None:
        if not s.order or await self._backwards(s, meter):
            return
        seqs = [seq for seq, _t in s.order if seq not in s.held]
        if s.held:  # ask again from the first record still waiting for its context
            seqs = [q for q in seqs if q < min(s.held)]
        highest = max(seqs + ([meter.last_sequence] if meter.last_sequence is not None else []), default=None)
        if highest is not None:
            await asyncio.to_thread(self.store.set_last_sequence, meter.address, highest)

    async def _resume(self, s: GlucoseSession, meter: PairedMeter) -> None:
        """After a partial download: the next visit starts after the last record handed over."""
        if not s.emitted or await self._backwards(s, meter):
            return
        done = [q for q in s.emitted if not s.held or q < min(s.held)]
        if done and (meter.last_sequence is None or max(done) > meter.last_sequence):
            log.info("meter %s: partial download, next visit resumes after #%d", meter.address, max(done))
            await asyncio.to_thread(self.store.set_last_sequence, meter.address, max(done))


def _numbers_backwards(order: list[tuple[int, datetime | None]]) -> bool:
    """True when a later meter time carries a smaller sequence number."""
    timed = sorted((t, seq) for seq, t in order if t is not None)
    return any(b[1] < a[1] for a, b in itertools.pairwise(timed) if b[0] > a[0])
