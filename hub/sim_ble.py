"""Simulated Bluetooth meters on the virtual BLE backend, and the `hub sim bp|glucose` verbs.

The meters hold real GATT services and send the exact bytes of the Bluetooth SIG formats, so the
hub's BLE code path (scanner, BleakClient, RACP, decoding) is the same one that runs on a Pi.
Quirk profiles reproduce what real meters do: push records as soon as notifications are enabled,
refuse an unbonded link, number records backwards, lose their clock (year 0), drop the link
mid-transfer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.ble import bps, gls, racp
from drivers.ble import uuids as U
from drivers.ble.time import DateTime, decode_current_time, decode_date_time, encode_current_time
from drivers.ble.virtual import (
    AttError,
    GattChar,
    GattService,
    Link,
    LinkLost,
    VirtualPeripheral,
    VirtualRadio,
)
from hub.config import Config
from hub.context import Hardware, HubContext

BP_ADDRESS = "C0:FF:EE:00:00:01"
GLUCOSE_ADDRESS = "C0:FF:EE:00:00:02"
QUIRKS = ("push_on_subscribe", "requires_bonding", "reversed_sequence", "year0_clock")


@dataclass
class Quirks:
    push_on_subscribe: bool = False
    requires_bonding: bool = False
    reversed_sequence: bool = False
    year0_clock: bool = False
    drop_after: int | None = None  # drop the link after this many records (once), then re-advertise

    @classmethod
    def named(cls, *names: str) -> Quirks:
        unknown = set(names) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {', '.join(QUIRKS)}")
        return cls(**{n: True for n in names})


class SimMeter(VirtualPeripheral):
    """Shared by both meters: a wall clock the hub can set through Current Time 0x2A2B."""

    def __init__(
        self,
        address: str,
        name: str,
        services: list[GattService],
        now: Callable[[], datetime],
        quirks: Quirks,
        passkey: str | None,
    ) -> None:
        self.now, self.quirks = now, quirks
        self.clock_offset: Any = None if quirks.year0_clock else 0.0  # seconds from hub time; None = unset
        self._tasks: set[asyncio.Task[None]] = set()
        cts = GattService(
            U.CURRENT_TIME_SERVICE,
            [GattChar(U.CURRENT_TIME, ["read", "write", "notify"], on_write=self._set_time)],
        )
        super().__init__(address, name, [*services, cts], advertised=[services[0].uuid], passkey=passkey)
        self.char(U.CURRENT_TIME).value = encode_current_time(self.now())

    def wall(self) -> DateTime:
        """What the meter would stamp now; year 0 (with month/day 0) after losing its clock."""
        if self.clock_offset is None:
            t = self.now()
            return DateTime(0, 0, 0, t.hour, t.minute, t.second)
        return DateTime.from_datetime(self.now())

    async def _set_time(self, link: Link, data: bytes) -> None:
        try:
            (decode_current_time if len(data) == 10 else decode_date_time)(data)
        except ValueError:
            raise AttError(0x80) from None  # out of range, as the CTS spec answers
        self.clock_offset = 0.0

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim-meter.{self.address}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class SimBpMeter(SimMeter):
    """BPS: stored readings go out as indications once 0x2A35 is enabled, then the meter hangs up."""

    def __init__(
        self,
        address: str,
        now: Callable[[], datetime],
        quirks: Quirks | None = None,
        passkey: str | None = None,
        name: str = "SIM-BP",
    ) -> None:
        q = quirks or Quirks()
        bps_service = GattService(
            U.BLOOD_PRESSURE_SERVICE,
            [
                GattChar(U.BLOOD_PRESSURE_MEASUREMENT, ["indicate"], requires_bond=q.requires_bonding),
                GattChar(U.INTERMEDIATE_CUFF_PRESSURE, ["notify"]),
                GattChar(U.BLOOD_PRESSURE_FEATURE, ["read"], value=(0x0007).to_bytes(2, "little")),
            ],
        )
        super().__init__(address, name, [bps_service], now, q, passkey)
        self.pending: list[bytes] = []

    def measure(self, systolic: float, diastolic: float, pulse: float | None = None) -> bytes:
        value = bps.encode_measurement(
            systolic, diastolic, timestamp=self.wall(), pulse=pulse, user_id=1, status=0
        )
        self.pending.append(value)
        self.start_advertising()
        return value

    def on_disconnect(self, link: Link) -> None:
        if self.pending:  # measured while connected, or the link dropped: advertise again
            self.start_advertising()

    async def on_subscribe(self, link: Link, uuid: str) -> None:
        if uuid == U.BLOOD_PRESSURE_MEASUREMENT:
            self.spawn(self._send_stored(link))

    async def _send_stored(self, link: Link) -> None:
        sent = 0
        with contextlib.suppress(LinkLost):
            while self.pending:
                if self.quirks.drop_after is not None and sent >= self.quirks.drop_after:
                    self.quirks.drop_after = None
                    self.drop_link()
                    self.start_advertising()
                    return
                if await link.send(U.BLOOD_PRESSURE_MEASUREMENT, self.pending[0]):
                    self.pending.pop(0)  # confirmed: the meter forgets it
                    sent += 1
            await asyncio.sleep(0.05)
            if link.up:
                self.drop_link()


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
            time_offset_min=0,
            type_code=10 if control_solution else 2,
            location_code=4 if control_solution else 1,
            context_follows=meal is not None,
        )
        context = gls.encode_context(seq, meal=meal, tester_code=1) if meal is not None else None
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
            await self._finish(
                link, racp.response_code(request.op_code, racp.ResponseCode.SUCCESS)
            )

    async def _finish(self, link: Link, response: bytes) -> None:
        self._busy = False
        await link.send(U.RECORD_ACCESS_CONTROL_POINT, response)

    async def _send(self, link: Link, record: StoredRecord) -> None:
        await link.send(U.GLUCOSE_MEASUREMENT, record.value)
        self.sent_total += 1
        self.delivered.add(record.sequence)
        if record.context is not None:
            await link.send(U.GLUCOSE_MEASUREMENT_CONTEXT, record.context)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(f"{self.prog}: {message}")


class SimBle:
    """Puts a BP meter and a glucose meter on the virtual radio, pre-paired, and drives them."""

    name = "sim.ble"

    def __init__(self, config: Config, radio: VirtualRadio) -> None:
        self.config, self.radio = config, radio
        self.bp: SimBpMeter | None = None
        self.glucose: SimGlucoseMeter | None = None
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        from sensors.meter_store import MeterStore

        self._ctx = ctx
        tz = ctx.clock.now().tzinfo

        def local_now() -> datetime:
            return ctx.clock.now().astimezone(tz).replace(tzinfo=None)

        self.bp = SimBpMeter(BP_ADDRESS, local_now)
        self.glucose = SimGlucoseMeter(GLUCOSE_ADDRESS, local_now)
        with MeterStore.in_state_dir(self.config.state_dir) as store:
            for meter, kind in ((self.bp, "bp"), (self.glucose, "glucose")):
                self.radio.add(meter)
                self.radio.bond(meter.address)
                if store.get(meter.address) is None:
                    await asyncio.to_thread(store.pair, meter.address, kind, meter.name, ctx.clock.now())
        ctx.add_sim_command("bp", self.sim_bp)
        ctx.add_sim_command("glucose", self.sim_glucose)
        ctx.add_sim_command("ble-scan", self.sim_scan)
        ctx.add_sim_command("ble-pair", self.sim_pair)

    async def sim_bp(self, argv: list[str]) -> dict[str, Any]:
        p = _Parser(prog="hub sim bp", add_help=False)
        p.add_argument("systolic", type=float)
        p.add_argument("diastolic", type=float)
        p.add_argument("--pulse", type=float, default=None)
        a = p.parse_args(argv)
        if not (30 <= a.diastolic < a.systolic <= 300):
            raise ValueError("hub sim bp: need 30 <= DIA < SYS <= 300 mmHg, e.g. hub sim bp 185 112")
        if a.pulse is not None and not 20 <= a.pulse <= 250:
            raise ValueError("hub sim bp: --pulse must be 20..250 per minute")
        assert self.bp is not None
        value = self.bp.measure(a.systolic, a.diastolic, a.pulse)
        return {"meter": self.bp.address, "advertising": True, "value_hex": value.hex()}

    async def sim_glucose(self, argv: list[str]) -> dict[str, Any]:
        p = _Parser(prog="hub sim glucose", add_help=False)
        p.add_argument("mmol", type=float)
        p.add_argument("--meal", choices=("fasting", "before", "after", "bedtime"), default=None)
        a = p.parse_args(argv)
        if not 0.6 <= a.mmol <= 33.3:  # the display range of ordinary meters
            raise ValueError(
                "hub sim glucose: MMOL must be 0.6..33.3 mmol/L, e.g. hub sim glucose 5.6 --meal fasting"
            )
        assert self.glucose is not None
        seq = self.glucose.measure(a.mmol, a.meal)
        return {"meter": self.glucose.address, "advertising": True, "sequence": seq}

    async def sim_scan(self, argv: list[str]) -> dict[str, Any]:
        from sensors.meters import scan

        timeout = float(argv[0]) if argv else 2.0
        return {"devices": await scan(min(timeout, 30.0), backend=self.radio.scanner_backend)}

    async def sim_pair(self, argv: list[str]) -> dict[str, Any]:
        from sensors.meter_store import MeterStore
        from sensors.meters import pair

        p = _Parser(prog="hub ble pair", add_help=False)
        p.add_argument("address")
        p.add_argument("--passkey", default=None)
        a = p.parse_args(argv)
        peripheral = self.radio.peripherals.get(a.address.upper())
        if peripheral is None:
            raise ValueError(f"no simulated meter at {a.address}; 'hub ble scan' lists them")
        peripheral.start_advertising()  # pairing mode
        assert self._ctx is not None
        with MeterStore.in_state_dir(self.config.state_dir) as store:
            meter = await pair(
                store, a.address, self._ctx.clock.now(), backend=self.radio.client_backend, passkey=a.passkey
            )
        return {"address": meter.address, "kind": meter.kind, "name": meter.name}

    async def close(self) -> None:
        for meter in (self.bp, self.glucose):
            if meter is not None:
                meter.close()
        self.radio.close()


def shared_radio(hardware: Hardware) -> VirtualRadio:
    """The one virtual radio behind the hub's bleak backends: joined if a simulation component already
    put it there (the fall sim's wearable), else created and installed. One air for every peripheral."""
    radio = getattr(hardware.ble_client_backend, "radio", None)
    if isinstance(radio, VirtualRadio):
        return radio
    radio = VirtualRadio()
    hardware.ble_client_backend = radio.client_backend
    hardware.ble_scanner_backend = radio.scanner_backend
    return radio


def build(config: Config, hardware: Hardware) -> SimBle | None:
    if not hardware.simulated:
        return None
    return SimBle(config, shared_radio(hardware))
