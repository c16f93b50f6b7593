"""The blood-pressure (BPS) download: subscribe to 0x2A35 indications; the meter sends its stored
readings and hangs up (an idle timeout is the fallback). Readings with a meter stamp are de-duplicated
on that stamp and the pressures; ones without a stamp are always new readings.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from drivers.ble import bps
from drivers.ble import uuids as U
from drivers.ble.sfloat import Special, finite
from sensors.meter_readings import BloodPressureReading, MeterDownload, decode_or_skip, next_or_lost, place_time
from sensors.meter_store import PairedMeter

log = logging.getLogger(__name__)


class BloodPressureDownload(MeterDownload):
    """One connection's blood-pressure download; `run` returns the outcome the coordinator records."""

    async def run(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bps.BloodPressureMeasurement, datetime]] = asyncio.Queue()
        activity = [loop.time()]

        def on_value(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            activity[0] = loop.time()
            m = decode_or_skip(bps.decode_measurement, data, "血压记录格式错误，已跳过 BP value skipped",
                               meter.address, log)
            if m is not None:
                queue.put_nowait((m, self.now()))

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

    async def _emit_bp(self, meter: PairedMeter, m: bps.BloodPressureMeasurement, received: datetime) -> None:
        sys_, dia = m.mmhg(m.systolic), m.mmhg(m.diastolic)
        if any(v in (Special.POS_INF, Special.NEG_INF) for v in (m.systolic, m.diastolic)):
            # A cuff pressure beyond the meter's range is a meter fault, not a physiological value:
            # no grade, no alert; the resident measures again.
            log.warning(
                "血压计读数超出量程，请重新测量 / the meter reported an out-of-range pressure; measure again "
                "(meter %s, value %s)",
                meter.address,
                m.to_json(),
            )
            return
        if sys_ is None or dia is None:
            log.warning(
                "BP reading from %s without usable pressures (%s); skipped", meter.address, m.to_json()
            )
            return
        key = None
        if m.timestamp is not None:  # without a meter stamp two equal readings are two readings
            key = f"{m.timestamp.encode().hex()}|{m.to_json()['systolic']}/{m.to_json()['diastolic']}"
            if await asyncio.to_thread(self.store.seen, meter.address, -1, key):
                return
        when, status = place_time(
            m.timestamp.to_datetime() if m.timestamp else None,
            m.timestamp is not None and m.timestamp.is_unset,
            received,
            self.tz,
            self.settings.future_tolerance_min,
            self.settings.max_age_days,
            absent=m.timestamp is None,
        )
        await self.on_reading(
            BloodPressureReading(
                meter=meter.address,
                received_at=received,
                meter_time=when,
                time_status=status,
                systolic_mmhg=sys_,
                diastolic_mmhg=dia,
                mean_arterial_mmhg=m.mmhg(m.mean_arterial),
                pulse=finite(m.pulse),
                user_id=m.user_id,
                status=m.status.to_json() if m.status else None,
                unit=m.unit,
                raw=m.to_json(),
            )
        )
        if key is not None:
            await asyncio.to_thread(self.store.mark_seen, meter.address, -1, key)
