"""The glucose (GLS) download over the Record Access Control Point: subscribe to 0x2A18, 0x2A34 and
the RACP 0x2A52 *before* writing a request, collect what the meter sends until its response, and hand
the records over in meter-time order (`sensors/meters/glucose_records.py` turns each into a reading).

Request forms are tried in the order the meter's quirk profile gives (spec: "records with sequence >=
last", then "all records"; some meters only know "first"/"last"). Asking from the last record received,
not after it, tells whether the meter's counter went on or started again (memory cleared, battery
changed): nothing at or after it, or that number on another reading, and every record is asked for. A
form the meter refuses (op code / operator / operand not supported) or ignores (no answer within
`racp_timeout_s` and no record) moves on to the next; a response with a non-null operator is read
anyway; an answer that is no answer to the request ends the download cleanly with what arrived. The
stored highest sequence moves after the meter's success, and after a partial download up to the last
record handed over, so the next visit resumes there. A record whose context is still on its way waits
for the next download.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bleak import BleakClient
from bleak.args.bluez import BlueZNotifyArgs

from drivers.ble import gls, gls_context, racp
from drivers.ble import uuids as U
from sensors.meters.glucose_records import GlucoseRecords, dedup_time
from sensors.meters.link import LINK_ERRORS
from sensors.meters.readings import decode_or_skip, next_or_lost
from sensors.meters.store import PairedMeter

log = logging.getLogger(__name__)
_NEXT_FORM = (
    racp.ResponseCode.OP_CODE_NOT_SUPPORTED,
    racp.ResponseCode.OPERATOR_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERATOR,
    racp.ResponseCode.OPERAND_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERAND,
)
_FORMS: dict[str, Callable[[], bytes]] = {
    "all": racp.report_all,
    "first": racp.report_first,
    "last": racp.report_last,
}


class GlucoseSession:
    """One download's state; the callbacks are sync (bleak calls them from its dispatcher)."""

    def __init__(
        self,
        address: str,
        now: Callable[[], datetime],
        loop: asyncio.AbstractEventLoop,
        decode: Callable[[bytes | bytearray], gls.GlucoseMeasurement] = gls.decode_measurement,
    ) -> None:
        self.address, self._now, self._loop, self._decode = address, now, loop, decode
        self.records: dict[tuple[int, str], tuple[gls.GlucoseMeasurement, datetime, bytes]] = {}
        self.contexts: dict[int, gls_context.GlucoseContext] = {}
        self.responses: asyncio.Queue[racp.RacpResponse] = asyncio.Queue()
        self.activity = loop.time()
        self.order: list[tuple[int, datetime | None]] = []  # (sequence, meter time) as first received
        self.emitted: set[int] = set()  # sequences handed over (or discarded on purpose) this visit
        self.held: set[int] = set()  # sequences received but held back for their context

    def on_measurement(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        m = decode_or_skip(self._decode, data, "血糖记录格式错误，已跳过 glucose record skipped", self.address, log)
        if m is None:
            return
        key = (m.sequence, dedup_time(m))
        if key not in self.records and (m.sequence, m.time()) not in self.order:
            self.records[key] = (m, self._now(), bytes(data))
            self.order.append((m.sequence, m.time()))

    def on_context(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        c = decode_or_skip(gls_context.decode_context, data, "血糖附加信息格式错误 glucose context skipped",
                           self.address, log)
        if c is not None:
            self.contexts[c.sequence] = c

    def on_racp(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        response = decode_or_skip(
            lambda b: racp.decode_response(b, strict=False), data, "RACP response skipped", self.address, log
        )
        if response is not None:
            self.responses.put_nowait(response)


class GlucoseDownload(GlucoseRecords):
    """One connection's glucose download; `run` returns the outcome the coordinator records."""

    def _decode(self, data: bytes | bytearray) -> gls.GlucoseMeasurement:
        return gls.decode_measurement(data, big_endian=self.profile.big_endian)

    def _forms(self, meter: PairedMeter) -> list[str]:
        """The profile's forms; without a trustworthy last sequence (first contact, a meter numbering
        backwards) "from sequence" is asked last, from 0, for a meter that knows no other form."""
        forms = list(self.profile.racp)
        backwards = meter.reversed or self.profile.numbers_backwards
        if backwards or meter.last_sequence is None or meter.last_sequence >= 0xFFFF:
            forms = [f for f in forms if f != "from_sequence"] + [f for f in forms if f == "from_sequence"]
        return forms

    def _request(self, form: str, meter: PairedMeter, s: GlucoseSession) -> bytes:
        if form != "from_sequence":
            return _FORMS[form]()
        backwards = meter.reversed or self.profile.numbers_backwards
        # ">= last", not "> last": the last record received comes again, and tells whether the meter's
        # counter went on from it or started again (memory cleared, battery changed).
        start = 0 if meter.last_sequence is None or backwards else meter.last_sequence
        if s.emitted and not backwards:  # an earlier form this visit got some: resume after them
            start = max(start, max(s.emitted) + 1)
        return racp.report_from(min(start, 0xFFFF))

    async def run(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        s = GlucoseSession(meter.address, self.now, asyncio.get_running_loop(), self._decode)
        # Some meters push records the moment the CCCD is written; BlueZ's AcquireNotify would drop them.
        early: BlueZNotifyArgs = {"use_start_notify": True}
        await client.start_notify(U.GLUCOSE_MEASUREMENT, s.on_measurement, bluez=early)
        if client.services.get_characteristic(U.GLUCOSE_MEASUREMENT_CONTEXT) is not None:
            await client.start_notify(U.GLUCOSE_MEASUREMENT_CONTEXT, s.on_context, bluez=early)
        await client.start_notify(U.RECORD_ACCESS_CONTROL_POINT, s.on_racp)
        self.renumbered, self.kept = None, 0  # set by _emit_glucose (sensors.meters.glucose_records)
        outcome, form = await self._download(client, meter, s, lost)
        reason = self._went_back(outcome, form, meter, s)
        if reason:
            last, renumbered, self.renumbered = meter.last_sequence, self.renumbered, None
            log.info("meter %s: %s; asking for all its records", meter.address, reason)
            meter = replace(meter, last_sequence=None)
            await asyncio.to_thread(self.store.set_last_sequence, meter.address, None)
            s.records.clear()
            s.order.clear()
            s.emitted.clear()
            outcome, _form = await self._download(client, meter, s, lost)
            below = sorted(q for q in s.emitted if last is not None and q <= last)
            if renumbered is not None or below:
                log.warning(
                    "血糖仪记录编号倒退 meter %s: record counter went back (memory cleared or battery changed): "
                    "%s; all %d of its records downloaded, %d numbered at or below #%s kept as new",
                    meter.address, reason, len(s.emitted), len(below), last,
                )
        elif outcome == "ok" and form == "from_sequence" and not self.kept:
            outcome = "no_records"  # only the last record again: nothing new
        return outcome

    def _went_back(self, outcome: str, form: str, meter: PairedMeter, s: GlucoseSession) -> str:
        """Why the meter's counter may have gone back ("" when it went on from the last record)."""
        last = meter.last_sequence
        if form != "from_sequence" or last is None or meter.reversed or self.profile.numbers_backwards:
            return ""
        if self.renumbered is not None:
            return f"its record #{self.renumbered} is another reading than the one received before"
        if outcome in ("ok", "no_records") and not s.order:
            return f"it no longer has record #{last}, nor any after it"
        return ""

    async def _download(
        self, client: BleakClient, meter: PairedMeter, s: GlucoseSession, lost: asyncio.Event
    ) -> tuple[str, str]:
        """The request forms in turn until one answers: (outcome, the form that ended it)."""
        outcome, form = "racp_error", ""
        for form in self._forms(meter):
            request = self._request(form, meter, s)
            result = await self._racp_exchange(client, request, s, lost)
            if result == "timeout":
                await self._abort(client, s)
            if isinstance(result, str):
                if result == "timeout" and not s.records:
                    log.info("meter %s did not answer RACP form %r; trying the next", meter.address, form)
                    outcome = "timeout"
                    continue
                await self._flush(s, meter, complete_only=True)
                await self._resume(s, meter)
                return result, form
            if result.odd:
                log.info(
                    "meter %s answered RACP with operator %d (spec: 0); read anyway", meter.address, result.operator
                )
            if result.op_code != racp.OpCode.RESPONSE_CODE or result.request_op_code != request[0]:
                log.warning(
                    "血糖仪应答异常 meter %s answered %s to %s; finishing with what arrived",
                    meter.address,
                    result.to_json(),
                    request.hex(),
                )
                await self._flush(s, meter, complete_only=False)
                await self._resume(s, meter)
                return ("ok" if s.emitted else "odd_answer"), form
            if result.ok or result.no_records:
                await self._flush(s, meter, complete_only=False)
                if result.ok:
                    await self._after_success(s, meter)
                return ("ok" if result.ok else "no_records"), form
            if result.response_code in _NEXT_FORM:
                log.info(
                    "meter %s refused RACP form %r (%s); trying the next",
                    meter.address,
                    form,
                    result.to_json()["response"],
                )
                continue
            log.warning("血糖仪拒绝下载 meter %s refused the download: %s", meter.address, result.to_json())
            await self._flush(s, meter, complete_only=True)
            return "racp_error", form
        await self._flush(s, meter, complete_only=True)
        return outcome, form

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
                    "血糖仪无响应 meter %s silent for %.0f s after RACP %s; aborting it",
                    s.address,
                    self.settings.racp_timeout_s,
                    request.hex(),
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
        while not s.responses.empty():  # the abort's answer, or a late one: not the next form's
            s.responses.get_nowait()
