"""A simulated glucose meter (Glucose Service): stored records with their optional meal context, and a
Record Access Control Point that reports, counts and aborts like a real meter, answering with the
spec's response codes (busy, bad operator/operand, no records, CCCD not configured), so the hub's
RACP download is exercised against the same bytes it meets on a Pi.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from drivers.ble import gls, gls_context, racp
from drivers.ble import uuids as U
from drivers.ble.virtual.gatt import AttError, GattChar, GattService, Link, LinkLost
from hub.health.sim.meter import Quirks, SimMeter


@dataclass
class StoredRecord:
    sequence: int
    value: bytes
    context: bytes | None


class SimGlucoseMeter(SimMeter):
    """GLS with a RACP that reports, counts and aborts, answering with the spec's response codes."""

    def __init__(
        self,
        address: str,
        now: Callable[[], datetime],
        quirks: Quirks | None = None,
        passkey: str | None = None,
        name: str = "SIM-GLU",
    ) -> None:
        q = quirks or Quirks()
        gls_service = GattService(
            U.GLUCOSE_SERVICE,
            [
                GattChar(U.GLUCOSE_MEASUREMENT, ["notify"], requires_bond=q.requires_bonding),
                GattChar(U.GLUCOSE_MEASUREMENT_CONTEXT, ["notify"], requires_bond=q.requires_bonding),
                GattChar(U.GLUCOSE_FEATURE, ["read"], value=(0x0000).to_bytes(2, "little")),
                GattChar(
                    U.RECORD_ACCESS_CONTROL_POINT,
                    ["write", "indicate"],
                    requires_bond=q.requires_bonding,
                    on_write=self._racp_write,
                ),
            ],
        )
        super().__init__(address, name, [gls_service], now, q, passkey)
        self.records: list[StoredRecord] = []
        self._next = 0xFFFF if q.reversed_sequence else 1
        self._procedure: asyncio.Task[None] | None = None
        self._busy = False  # a procedure runs until its response indication is sent
        self.sent_total = 0
        self.delivered: set[int] = set()
        self.requests: list[bytes] = []  # every RACP write, for tests and `hub status` debugging

    def measure(self, mmol_per_l: float, meal: str | None = None, *, control_solution: bool = False) -> int:
        seq = self._next
        self._next += -1 if self.quirks.reversed_sequence else 1
        value = gls.encode_measurement(
            seq,
            self.wall(),
            mmol_per_l=mmol_per_l,
            time_offset_min=None if self.quirks.utc_clock else 0,
            type_code=10 if control_solution else 2,
            location_code=4 if control_solution else 1,
            context_follows=meal is not None,
        )
        context = gls_context.encode_context(seq, meal=meal, tester_code=1) if meal is not None else None
        self.records.append(StoredRecord(seq, value, context))
        self.start_advertising()
        return seq

    def clear_memory(self) -> None:
        """What a memory clear or a battery change does to many meters: every record gone, and the record
        counter back at its start, so the next reading carries a number the hub has had before."""
        self.records.clear()
        self.delivered.clear()
        self._next = 0xFFFF if self.quirks.reversed_sequence else 1

    def measure_ketone(self, mmol_per_l: float, marker: int = 6) -> int:
        """A blood ketone test as one vendor stores it: a glucose record whose value (mg/dL, kg/L on
        the wire) is ten times the ketone in mmol/L, with a context whose meal code is `marker`."""
        seq = self._next
        self._next += -1 if self.quirks.reversed_sequence else 1
        kg_per_l = round(mmol_per_l * 10 / 100_000, 6)
        value = gls.encode_measurement(seq, self.wall(), kg_per_l=kg_per_l, time_offset_min=0, context_follows=True)
        context = bytes([0x02]) + seq.to_bytes(2, "little") + bytes([marker])
        self.records.append(StoredRecord(seq, value, context))
        self.start_advertising()
        return seq

    async def on_subscribe(self, link: Link, uuid: str) -> None:
        if uuid == U.GLUCOSE_MEASUREMENT and self.quirks.push_on_subscribe:
            with contextlib.suppress(LinkLost):  # sent at once, before any RACP request
                for record in list(self.records):
                    await self._send(link, record)

    def on_disconnect(self, link: Link) -> None:
        if any(r.sequence not in self.delivered for r in self.records):
            self.start_advertising()  # a reading the hub has not seen yet: advertise again
        self._busy = False
        if self._procedure is not None:
            self._procedure.cancel()
            self._procedure = None

    async def _racp_write(self, link: Link, data: bytes) -> None:

        self.requests.append(data)
        if link.cccd.get(U.RECORD_ACCESS_CONTROL_POINT) != 2:
            raise AttError(U.GLS_CCCD_IMPROPERLY_CONFIGURED)
        busy = self._busy
        if data[:1] == bytes([racp.OpCode.ABORT_OPERATION]):
            if busy and self._procedure is not None:
                self._procedure.cancel()
            self._busy = False
            self.spawn(
                self._respond(
                    link, racp.response_code(racp.OpCode.ABORT_OPERATION, racp.ResponseCode.SUCCESS)
                )
            )
            return
        if busy:
            raise AttError(U.GLS_PROCEDURE_ALREADY_IN_PROGRESS)
        self._busy = True
        self._procedure = asyncio.get_running_loop().create_task(self._run(link, data))

    async def _respond(self, link: Link, value: bytes) -> None:
        with contextlib.suppress(LinkLost):
            await link.send(U.RECORD_ACCESS_CONTROL_POINT, value)

    def _select(self, request: racp.RacpRequest) -> list[StoredRecord] | int:
        ordered = sorted(self.records, key=lambda r: r.sequence)
        op = request.operator
        if op == racp.Operator.ALL_RECORDS:
            return ordered
        if op == racp.Operator.FIRST_RECORD:
            return ordered[:1]
        if op == racp.Operator.LAST_RECORD:
            return ordered[-1:]
        if op in (
            racp.Operator.GREATER_THAN_OR_EQUAL_TO,
            racp.Operator.LESS_THAN_OR_EQUAL_TO,
            racp.Operator.WITHIN_RANGE_OF,
        ):
            if request.filter_type != racp.FilterType.SEQUENCE_NUMBER:
                return racp.ResponseCode.OPERAND_NOT_SUPPORTED
            if not request.operand:
                return racp.ResponseCode.INVALID_OPERAND
            lo, hi = request.operand[0], request.operand[-1]
            if op == racp.Operator.GREATER_THAN_OR_EQUAL_TO:
                return [r for r in ordered if r.sequence >= lo]
            if op == racp.Operator.LESS_THAN_OR_EQUAL_TO:
                return [r for r in ordered if r.sequence <= lo]
            return [r for r in ordered if lo <= r.sequence <= hi]
        return racp.ResponseCode.INVALID_OPERATOR

    async def _run(self, link: Link, data: bytes) -> None:
        with contextlib.suppress(LinkLost):
            try:
                request = racp.decode_request(data)
            except ValueError:
                await self._finish(
                    link,
                    racp.response_code(data[0] if data else 0, racp.ResponseCode.INVALID_OPERAND),
                )
                return
            if request.op_code not in (
                racp.OpCode.REPORT_STORED_RECORDS,
                racp.OpCode.REPORT_NUMBER_OF_STORED_RECORDS,
            ):
                await self._finish(
                    link,
                    racp.response_code(request.op_code, racp.ResponseCode.OP_CODE_NOT_SUPPORTED),
                )
                return
            q = self.quirks
            if q.racp_silent or (q.racp_ignores_all and request.operator == racp.Operator.ALL_RECORDS):
                self._busy = False  # heard, never answered
                return
            if q.racp_first_last_only and request.operator not in (
                racp.Operator.FIRST_RECORD,
                racp.Operator.LAST_RECORD,
            ):
                await self._finish(
                    link, racp.response_code(request.op_code, racp.ResponseCode.OPERATOR_NOT_SUPPORTED)
                )
                return
            chosen = self._select(request)
            if isinstance(chosen, int):
                await self._finish(link, racp.response_code(request.op_code, chosen))
                return
            if request.op_code == racp.OpCode.REPORT_NUMBER_OF_STORED_RECORDS:
                await self._finish(link, racp.number_response(len(chosen)))
                return
            if not chosen:
                await self._finish(
                    link,
                    racp.response_code(request.op_code, racp.ResponseCode.NO_RECORDS_FOUND),
                )
                return
            for n, record in enumerate(chosen):
                if self.quirks.drop_after is not None and n >= self.quirks.drop_after:
                    self.quirks.drop_after = None
                    self.drop_link()
                    self.start_advertising()  # as if the resident pressed the button again
                    return
                await self._send(link, record)
            if self.quirks.racp_odd_answer:
                await self._finish(link, racp.number_response(len(chosen)))
                return
            await self._finish(
                link, racp.response_code(request.op_code, racp.ResponseCode.SUCCESS)
            )

    async def _finish(self, link: Link, response: bytes) -> None:
        self._busy = False
        if self.quirks.racp_operator:
            response = response[:1] + b"\x01" + response[2:]
        await link.send(U.RECORD_ACCESS_CONTROL_POINT, response)

    async def _send(self, link: Link, record: StoredRecord) -> None:
        await link.send(U.GLUCOSE_MEASUREMENT, record.value)
        self.sent_total += 1
        self.delivered.add(record.sequence)
        if record.context is not None:
            await link.send(U.GLUCOSE_MEASUREMENT_CONTEXT, record.context)
