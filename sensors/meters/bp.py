"""The blood-pressure (BPS) download: subscribe to 0x2A35 indications; the meter sends its stored
readings and hangs up (an idle timeout is the fallback). Readings with a meter stamp are de-duplicated
on that stamp and the pressures; ones without a stamp are always new readings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from drivers.ble import bps
from drivers.ble import uuids as U
from drivers.ble.sfloat import Special, finite
from sensors.meters.plausible import implausible_fields, log_implausible
from sensors.meters.readings import (
    BloodPressureReading,
    MeterDownload,
    MeterErrorReading,
    decode_or_skip,
    next_or_lost,
    place_time,
)
from sensors.meters.store import PairedMeter

log = logging.getLogger(__name__)


class BloodPressureDownload(MeterDownload):
    """One connection's blood-pressure download; `run` returns the outcome the coordinator records."""

    async def run(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bps.BloodPressureMeasurement, datetime, bytes]] = asyncio.Queue()
        activity = [loop.time()]

        def on_value(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            activity[0] = loop.time()
            m = decode_or_skip(
                lambda b: self._decode(b, meter.address),
                data,
                "血压记录格式错误，已跳过 BP value skipped",
                meter.address,
                log,
            )
            if m is not None:
                queue.put_nowait((m, self.now(), bytes(data)))

        await client.start_notify(U.BLOOD_PRESSURE_MEASUREMENT, on_value)
        while True:
            while not queue.empty():
                await self._emit_bp(meter, *queue.get_nowait())
            if lost.is_set():
                return "ok"  # BPS meters hang up once their stored readings are confirmed
            remaining = activity[0] + self.settings.bp_idle_s - loop.time()
            if remaining <= 0:
                return "ok"
            item = await next_or_lost(queue, lost, min(remaining, 1.0))
            if item is not None:
                await self._emit_bp(meter, *item)

    def _decode(self, data: bytes | bytearray, address: str) -> bps.BloodPressureMeasurement:
        m = bps.decode_measurement(
            data,
            big_endian=self.profile.big_endian,
            infer_user_id="user_id" in self.profile.infer_from_length,
        )
        if m.status is not None and self.features is not None:
            mask = self.features.bp_status_mask()  # a status bit the meter cannot detect is noise
            if m.status.raw & ~mask & 0x3F:
                log.info(
                    "meter %s reports status bits %#06x its Blood Pressure Feature %#06x does not detect; ignored",
                    address,
                    m.status.raw & ~mask & 0x3F,
                    self.features.raw,
                )
                m = replace(m, status=bps.BpStatus(m.status.raw & mask))
        return m

    async def _emit_bp(
        self, meter: PairedMeter, m: bps.BloodPressureMeasurement, received: datetime, raw: bytes
    ) -> None:
        key = None
        if m.timestamp is not None:  # without a meter stamp two equal readings are two readings
            key = f"{m.timestamp.encode().hex()}|{m.to_json()['systolic']}/{m.to_json()['diastolic']}"
            if await asyncio.to_thread(self.store.seen, meter.address, -1, key):
                log.debug("blood pressure reading %s from %s already received: kept once", key, meter.address)
                return
        when, status = place_time(
            m.timestamp.to_datetime() if m.timestamp else None,
            m.timestamp,
            received,
            self.tz,
            self.settings.future_tolerance_min,
            self.settings.max_age_days,
            utc=self.profile.time_base == "utc",
        )
        sys_, dia = m.mmhg(m.systolic), m.mmhg(m.diastolic)
        broken = [n for n, v in (("systolic", m.systolic), ("diastolic", m.diastolic)) if isinstance(v, Special)]
        if broken or sys_ is None or dia is None:
            # NaN ("Err" on the display: cuff, movement) or a pressure beyond the meter's range: a
            # failed measurement, not a physiological value. No grade; the resident measures again.
            problem = ", ".join(f"{n} {getattr(m, n).value}" for n in broken) or "no pressures"
            log.warning(
                "血压计测量出错 meter %s reported a failed measurement (%s; value %s); "
                "the resident is asked to measure again",
                meter.address,
                problem,
                raw.hex(),
            )
            await self.on_reading(
                MeterErrorReading(
                    meter.address,
                    "bp",
                    received,
                    when,
                    problem,
                    raw.hex(),
                    self.fresh(when if status == "ok" else None, received),
                )
            )
        else:
            pulse = finite(m.pulse)
            values = {"systolic": sys_, "diastolic": dia, "pulse": pulse, "mean_arterial": m.mmhg(m.mean_arterial)}
            flagged = implausible_fields(values)
            log_implausible(log, meter.address, flagged, values, raw)
            await self.on_reading(
                BloodPressureReading(
                    meter=meter.address,
                    received_at=received,
                    meter_time=when,
                    time_status=status,
                    systolic_mmhg=sys_,
                    diastolic_mmhg=dia,
                    mean_arterial_mmhg=m.mmhg(m.mean_arterial),
                    pulse=pulse,
                    user_id=m.user_id,
                    status=m.status.to_json() if m.status else None,
                    unit=m.unit,
                    raw=m.to_json(),
                    implausible=flagged,
                    profile=self.profile.id,
                    time_problem=m.timestamp.problem if m.timestamp else None,
                )
            )
        if key is not None:
            await asyncio.to_thread(self.store.mark_seen, meter.address, -1, key)
