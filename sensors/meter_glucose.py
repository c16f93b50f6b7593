"""The glucose (GLS) download over the Record Access Control Point: subscribe to 0x2A18, 0x2A34 and
the RACP 0x2A52 *before* writing the request "records with sequence >= last+1" (all records on first
contact, or always for meters that number backwards), collect what the meter sends until its
response, and hand the records over in meter-time order. The stored highest sequence moves only after
the meter's "success" response; a record whose context is still on its way waits for the next download.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bleak import BleakClient
from bleak.args.bluez import BlueZNotifyArgs

from drivers.ble import gls, racp
from drivers.ble import uuids as U
from drivers.ble.sfloat import Special, finite
from sensors.meter_readings import (
    LINK_ERRORS,
    GlucoseReading,
    MeterDownload,
    decode_or_skip,
    next_or_lost,
    place_time,
)
from sensors.meter_store import PairedMeter

log = logging.getLogger(__name__)
# A meter showing "HI" / "LO" sends the concentration as SFLOAT +INF / -INF (above / below its range).
OUT_OF_RANGE = {Special.POS_INF: "high", Special.NEG_INF: "low"}
_RETRY_WITH_ALL = (
    racp.ResponseCode.OPERATOR_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERATOR,
    racp.ResponseCode.OPERAND_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERAND,
)


class GlucoseSession:
    """One download's state; the callbacks are sync (bleak calls them from its dispatcher)."""

    def __init__(self, address: str, now: Callable[[], datetime], loop: asyncio.AbstractEventLoop) -> None:
        self.address, self._now, self._loop = address, now, loop
        self.records: dict[tuple[int, str], tuple[gls.GlucoseMeasurement, datetime]] = {}
        self.contexts: dict[int, gls.GlucoseContext] = {}
        self.responses: asyncio.Queue[racp.RacpResponse] = asyncio.Queue()
        self.activity = loop.time()
        self.order: list[tuple[int, datetime | None]] = []  # (sequence, meter time) as first received

    def on_measurement(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        m = decode_or_skip(gls.decode_measurement, data, "血糖记录格式错误，已跳过 glucose record skipped",
                           self.address, log)
        if m is None:
            return
        key = (m.sequence, dedup_time(m))
        if key not in self.records and (m.sequence, m.time()) not in self.order:
            self.records[key] = (m, self._now())
            self.order.append((m.sequence, m.time()))

    def on_context(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        c = decode_or_skip(gls.decode_context, data, "血糖附加信息格式错误 glucose context skipped", self.address, log)
        if c is not None:
            self.contexts[c.sequence] = c

    def on_racp(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        response = decode_or_skip(racp.decode_response, data, "RACP response skipped", self.address, log)
        if response is not None:
            self.responses.put_nowait(response)


def dedup_time(m: gls.GlucoseMeasurement) -> str:
    """The meter's own stamp, raw: year-0 stamps stay distinct by their other fields."""
    return f"{m.base_time.encode().hex()}{m.time_offset_min or 0:+d}"


class GlucoseDownload(MeterDownload):
    """One connection's glucose download; `run` returns the outcome the coordinator records."""

    async def run(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        loop = asyncio.get_running_loop()
        s = GlucoseSession(meter.address, self.now, loop)
        # Some meters push records the moment the CCCD is written; BlueZ's AcquireNotify would drop them.
        early: BlueZNotifyArgs = {"use_start_notify": True}
        await client.start_notify(U.GLUCOSE_MEASUREMENT, s.on_measurement, bluez=early)
        if client.services.get_characteristic(U.GLUCOSE_MEASUREMENT_CONTEXT) is not None:
            await client.start_notify(U.GLUCOSE_MEASUREMENT_CONTEXT, s.on_context, bluez=early)
        await client.start_notify(U.RECORD_ACCESS_CONTROL_POINT, s.on_racp)
        ask_all = meter.reversed or meter.last_sequence is None or meter.last_sequence >= 0xFFFF
        for _attempt in range(2):
            request = racp.report_all() if ask_all else racp.report_from(meter.last_sequence + 1)  # type: ignore[operator]
            result = await self._racp_exchange(client, request, s, lost)
            if isinstance(result, str):
                if result == "timeout":
                    await self._abort(client, s)
                await self._flush(s, meter, complete_only=True)
                return result
            if result.ok or result.no_records:
                await self._flush(s, meter, complete_only=False)
                if result.ok:
                    await self._after_success(s, meter)
                return "ok" if result.ok else "no_records"
            if result.response_code in _RETRY_WITH_ALL and not ask_all:
                log.info(
                    "meter %s does not filter by sequence (%s); asking for all records",
                    meter.address,
                    result.to_json()["response"],
                )
                ask_all = True
                continue
            log.warning("血糖仪拒绝下载 meter %s refused the download: %s", meter.address, result.to_json())
            await self._flush(s, meter, complete_only=True)
            return "racp_error"
        return "racp_error"

    async def _racp_exchange(
        self, client: BleakClient, request: bytes, s: GlucoseSession, lost: asyncio.Event
    ) -> racp.RacpResponse | str:
        loop = asyncio.get_running_loop()
        await client.write_gatt_char(U.RECORD_ACCESS_CONTROL_POINT, request, response=True)
        s.activity = loop.time()
        while True:
            if not s.responses.empty():
                return s.responses.get_nowait()
            if lost.is_set():
                return "lost"
            remaining = s.activity + self.settings.racp_timeout_s - loop.time()
            if remaining <= 0:
                log.warning(
                    "血糖仪无响应 meter %s silent for %.0f s during download; aborting",
                    s.address,
                    self.settings.racp_timeout_s,
                )
                return "timeout"
            response = await next_or_lost(s.responses, lost, min(remaining, 1.0))
            if response is not None:
                return response

    async def _abort(self, client: BleakClient, s: GlucoseSession) -> None:
        with contextlib.suppress(*LINK_ERRORS):
            await client.write_gatt_char(U.RECORD_ACCESS_CONTROL_POINT, racp.abort(), response=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.responses.get(), 2.0)

    async def _flush(self, s: GlucoseSession, meter: PairedMeter, *, complete_only: bool) -> None:
        # In meter-time order: meters that number backwards send the newest first.
        in_order = sorted(s.records.items(), key=lambda kv: kv[1][0].time() or datetime.min)
        for key, (m, received) in in_order:
            if complete_only and m.context_follows and m.sequence not in s.contexts:
                continue  # its context may be on the way; the next download brings both
            await self._emit_glucose(meter, m, s.contexts.get(m.sequence), received, key[1])
            del s.records[key]

    async def _emit_glucose(
        self,
        meter: PairedMeter,
        m: gls.GlucoseMeasurement,
        ctx: gls.GlucoseContext | None,
        received: datetime,
        key: str,
    ) -> None:
        if await asyncio.to_thread(self.store.seen, meter.address, m.sequence, key):
            return
        mmol = m.mmol_per_l
        out_of_range = OUT_OF_RANGE.get(m.concentration) if isinstance(m.concentration, Special) else None
        if m.is_control_solution:
            log.info("control-solution test #%d from %s discarded", m.sequence, meter.address)
        elif mmol is None and out_of_range is None:  # NaN, NRes, reserved, or no concentration at all
            log.warning(
                "glucose record #%d from %s has no usable value (%s); skipped",
                m.sequence,
                meter.address,
                m.to_json()["concentration"],
            )
        else:
            when, status = place_time(
                m.time(),
                m.base_time.is_unset,
                received,
                self.tz,
                self.settings.future_tolerance_min,
                self.settings.max_age_days,
            )
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
                )
            )
        await asyncio.to_thread(self.store.mark_seen, meter.address, m.sequence, key)

    async def _after_success(self, s: GlucoseSession, meter: PairedMeter) -> None:
        # `records` is empty after the flush; the sequences live in the de-dup keys we just wrote.
        seqs = [seq for seq, _t in s.order]
        if not seqs:
            return
        if _numbers_backwards(s.order):
            if not meter.reversed:
                log.info("meter %s numbers records backwards; will always ask for all", meter.address)
                await asyncio.to_thread(self.store.set_reversed, meter.address, True)
            return
        highest = max(seqs + ([meter.last_sequence] if meter.last_sequence is not None else []))
        await asyncio.to_thread(self.store.set_last_sequence, meter.address, highest)


def _numbers_backwards(order: list[tuple[int, datetime | None]]) -> bool:
    """True when a later meter time carries a smaller sequence number."""
    timed = sorted((t, seq) for seq, t in order if t is not None)
    return any(b[1] < a[1] for a, b in itertools.pairwise(timed) if b[0] > a[0])
