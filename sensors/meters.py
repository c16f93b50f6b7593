"""The meter coordinator: listens for paired Bluetooth meters, connects, and hands over new readings.

Meters advertise only for a short while after a measurement, so the hub scans all the time and
connects when a paired address shows up. Per connection it writes the meter's clock when it can, then:

- glucose (GLS): subscribe to 0x2A18, 0x2A34 and the RACP 0x2A52 *before* writing the RACP request
  "records with sequence >= last+1" (all records on first contact, or always for meters that number
  backwards). The stored highest sequence moves only after the meter's "success" response;
- blood pressure (BPS): subscribe to 0x2A35 indications; the meter sends its stored readings and
  hangs up.

Readings are de-duplicated on (meter, sequence, meter time), so a link that drops mid-transfer is
simply downloaded again next time: nothing lost, nothing twice. All bleak calls go through the
`backend=` seam (BlueZ on the Pi, the virtual backend in simulation and tests). Bad characteristic
values are logged and skipped inside the callbacks; they never end the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.args.bluez import BlueZClientArgs, BlueZNotifyArgs, BlueZScannerArgs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError

from drivers.ble import bps, gls, racp
from drivers.ble import uuids as U
from drivers.ble.sfloat import finite
from drivers.ble.time import encode_current_time, encode_date_time
from sensors.meter_store import MeterStore, PairedMeter, norm

log = logging.getLogger(__name__)
_AUTH_ERRORS = (U.ATT_INSUFFICIENT_AUTHENTICATION, U.ATT_INSUFFICIENT_ENCRYPTION)
_LINK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)
_RETRY_WITH_ALL = (
    racp.ResponseCode.OPERATOR_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERATOR,
    racp.ResponseCode.OPERAND_NOT_SUPPORTED,
    racp.ResponseCode.INVALID_OPERAND,
)


@dataclass(frozen=True)
class BloodPressureReading:
    meter: str
    received_at: datetime  # hub time when the value arrived
    meter_time: datetime | None  # the meter's stamp placed in the hub's zone
    time_status: str  # ok | unset (year 0 etc.) | implausible | absent
    systolic_mmhg: float
    diastolic_mmhg: float
    mean_arterial_mmhg: float | None
    pulse: float | None
    user_id: int | None
    status: dict[str, Any] | None
    unit: str  # as sent: mmHg or kPa
    raw: dict[str, Any]  # the decoded value as sent (`hub ble decode bp` keys)


@dataclass(frozen=True)
class GlucoseReading:
    meter: str
    received_at: datetime
    meter_time: datetime | None
    time_status: str
    sequence: int
    mmol_per_l: float
    meal: str | None  # before | after | fasting | casual | bedtime, from the context when sent
    type: str | None
    location: str | None
    sensor_status: list[str]
    unit: str  # as sent: kg/L or mol/L
    concentration: float | None  # as sent, in that unit


Reading = BloodPressureReading | GlucoseReading


def place_time(
    naive: datetime | None,
    unset: bool,
    received: datetime,
    tz: tzinfo,
    future_min: float,
    max_age_days: float,
    *,
    absent: bool = False,
) -> tuple[datetime | None, str]:
    """Meter wall time -> aware time in the hub's zone, with a verdict the platform can filter on."""
    if absent:
        return None, "absent"
    if naive is None or unset:
        return None, "unset"
    aware = naive.replace(tzinfo=tz)
    if aware > received + timedelta(minutes=future_min) or aware < received - timedelta(days=max_age_days):
        return aware, "implausible"
    return aware, "ok"


OnReading = Callable[[Reading], Awaitable[None]]


@dataclass(frozen=True)
class MeterSettings:
    connect_timeout_s: float = 20.0
    racp_timeout_s: float = 15.0  # silence allowed while the meter is sending records
    bp_idle_s: float = 10.0  # BPS meters hang up when done; this is the fallback
    cooldown_s: float = 10.0  # ignore a meter's adverts this long after a complete download
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    write_time: bool = True
    future_tolerance_min: float = 60.0
    max_age_days: float = 400.0
    rescan_s: float = 10.0  # re-read the paired list (the CLI pairs while the hub runs)
    adapter: str = ""  # BlueZ adapter, e.g. "hci1"; "" = the default one


class Backoff:
    """Exponential back-off with full jitter so several hubs never retry in step."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high, self._n = low, high, 0

    def next(self) -> float:
        ceiling = min(self.high, self.low * (2**self._n))
        self._n += 1
        return random.uniform(self.low, max(self.low, ceiling))

    def reset(self) -> None:
        self._n = 0


class _GlucoseSession:
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
        try:
            m = gls.decode_measurement(data)
        except ValueError as exc:
            log.warning(
                "血糖记录格式错误，已跳过 glucose record skipped from %s: %s (value %s)",
                self.address,
                exc,
                bytes(data).hex(),
            )
            return
        key = (m.sequence, dedup_time(m))
        if key not in self.records and (m.sequence, m.time()) not in self.order:
            self.records[key] = (m, self._now())
            self.order.append((m.sequence, m.time()))

    def on_context(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        try:
            c = gls.decode_context(data)
        except ValueError as exc:
            log.warning(
                "血糖附加信息格式错误 glucose context skipped from %s: %s (value %s)",
                self.address,
                exc,
                bytes(data).hex(),
            )
            return
        self.contexts[c.sequence] = c

    def on_racp(self, _char: Any, data: bytearray) -> None:
        self.activity = self._loop.time()
        try:
            self.responses.put_nowait(racp.decode_response(data))
        except ValueError as exc:
            log.warning("RACP response skipped from %s: %s (value %s)", self.address, exc, bytes(data).hex())


def dedup_time(m: gls.GlucoseMeasurement) -> str:
    """The meter's own stamp, raw: year-0 stamps stay distinct by their other fields."""
    return f"{m.base_time.encode().hex()}{m.time_offset_min or 0:+d}"


class MeterCoordinator:
    def __init__(
        self,
        store: MeterStore,
        on_reading: OnReading,
        *,
        tz: tzinfo,
        now: Callable[[], datetime],
        settings: MeterSettings | None = None,
        client_backend: Any = None,
        scanner_backend: Any = None,
    ) -> None:
        self.store, self.on_reading, self.tz, self.now = store, on_reading, tz, now
        self.settings = settings or MeterSettings()
        self.client_backend, self.scanner_backend = client_backend, scanner_backend
        self.lock = asyncio.Lock()  # one connection at a time: the adapter and meters prefer it
        self.last_outcome: dict[str, str] = {}
        self._cooldown: dict[str, float] = {}

    # ---------------------------------------------------------------- scanning
    async def run(self) -> None:
        backoff = Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s)
        loop = asyncio.get_running_loop()
        while True:
            try:
                device, meter = await self._wait_for_meter()
            except _LINK_ERRORS as exc:
                log.warning(
                    "蓝牙扫描失败，稍后重试 BLE scan failed: %s; check the adapter "
                    "(bluetoothctl show; rfkill unblock bluetooth)",
                    exc,
                )
                await asyncio.sleep(backoff.next())
                continue
            async with self.lock:
                outcome = await self.sync(device, meter)
            if outcome in ("ok", "no_records"):
                backoff.reset()
                self._cooldown[meter.address] = loop.time() + self.settings.cooldown_s
            else:
                await asyncio.sleep(backoff.next())

    async def _wait_for_meter(self) -> tuple[BLEDevice, PairedMeter]:
        loop = asyncio.get_running_loop()
        found: asyncio.Future[tuple[BLEDevice, PairedMeter]] = loop.create_future()
        paired = {m.address: m for m in await asyncio.to_thread(self.store.meters)}

        def seen(device: BLEDevice, _adv: Any) -> None:
            meter = paired.get(norm(device.address))
            if meter is None or found.done() or self._cooldown.get(meter.address, 0.0) > loop.time():
                return
            found.set_result((device, meter))

        async with BleakScanner(
            seen, backend=self.scanner_backend, bluez=_scanner_args(self.settings.adapter)
        ):
            while not found.done():
                await asyncio.wait([found], timeout=self.settings.rescan_s)
                fresh = {m.address: m for m in await asyncio.to_thread(self.store.meters)}
                paired.clear()
                paired.update(fresh)
        return found.result()

    # ---------------------------------------------------------------- one connection
    async def sync(self, device: BLEDevice | str, meter: PairedMeter) -> str:
        """Connect, fetch what is new, disconnect. Returns the outcome; never raises for link trouble."""
        lost = asyncio.Event()
        client = BleakClient(
            device,
            disconnected_callback=lambda _c: lost.set(),
            timeout=self.settings.connect_timeout_s,
            backend=self.client_backend,
            bluez=_client_args(self.settings.adapter),
        )
        try:
            await client.connect()
        except _LINK_ERRORS as exc:
            log.info("meter %s not reachable: %s", meter.address, exc)
            return self._done(meter, "connect_failed")
        try:
            if self.settings.write_time:
                await self._write_time(client, meter)
            services = {s.uuid for s in client.services}
            if U.GLUCOSE_SERVICE in services:
                outcome = await self._glucose(client, meter, lost)
            elif U.BLOOD_PRESSURE_SERVICE in services:
                outcome = await self._blood_pressure(client, meter, lost)
            else:
                log.warning(
                    "设备 %s 没有血压或血糖服务 has neither BPS 0x1810 nor GLS 0x1808; re-pair it",
                    meter.address,
                )
                outcome = "no_service"
        except BleakGATTProtocolError as exc:
            if exc.code in _AUTH_ERRORS:
                log.warning(
                    "仪器要求配对 meter %s needs bonding: run 'hub ble pair %s' next to the meter",
                    meter.address,
                    meter.address,
                )
                outcome = "needs_bonding"
            else:
                outcome = "lost" if lost.is_set() else "error"
                log.warning("meter %s: GATT error %s", meter.address, exc)
        except _LINK_ERRORS as exc:
            outcome = "lost" if lost.is_set() or not client.is_connected else "error"
            log.info("meter %s: %s during transfer (%s)", meter.address, outcome, exc)
        finally:
            with contextlib.suppress(*_LINK_ERRORS):
                await client.disconnect()
        return self._done(meter, outcome)

    def _done(self, meter: PairedMeter, outcome: str) -> str:
        self.last_outcome[meter.address] = outcome
        return outcome

    async def _write_time(self, client: BleakClient, meter: PairedMeter) -> None:
        local = self.now().astimezone(self.tz).replace(tzinfo=None)
        for uuid, payload in (
            (U.CURRENT_TIME, encode_current_time(local)),
            (U.DATE_TIME, encode_date_time(local)),
        ):
            char = client.services.get_characteristic(uuid)
            if char is None or not {"write", "write-without-response"} & set(char.properties):
                continue
            try:
                await client.write_gatt_char(char, payload, response="write" in char.properties)
            except BleakGATTProtocolError as exc:
                log.info("meter %s refused the time write (%s); its stamps may drift", meter.address, exc)
            return

    # ---------------------------------------------------------------- glucose
    async def _glucose(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        loop = asyncio.get_running_loop()
        s = _GlucoseSession(meter.address, self.now, loop)
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
        self, client: BleakClient, request: bytes, s: _GlucoseSession, lost: asyncio.Event
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
            getter = asyncio.ensure_future(s.responses.get())
            dropped = asyncio.ensure_future(lost.wait())
            await asyncio.wait(
                [getter, dropped], timeout=min(remaining, 1.0), return_when=asyncio.FIRST_COMPLETED
            )
            dropped.cancel()
            if getter.done():
                return getter.result()
            getter.cancel()

    async def _abort(self, client: BleakClient, s: _GlucoseSession) -> None:
        with contextlib.suppress(*_LINK_ERRORS):
            await client.write_gatt_char(U.RECORD_ACCESS_CONTROL_POINT, racp.abort(), response=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.responses.get(), 2.0)

    async def _flush(self, s: _GlucoseSession, meter: PairedMeter, *, complete_only: bool) -> None:
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
        if m.is_control_solution:
            log.info("control-solution test #%d from %s discarded", m.sequence, meter.address)
        elif mmol is None:
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
                    meal=ctx.meal if ctx else None,
                    type=m.type,
                    location=m.location,
                    sensor_status=m.status_names(),
                    unit=m.unit or "",
                    concentration=finite(m.concentration),
                )
            )
        await asyncio.to_thread(self.store.mark_seen, meter.address, m.sequence, key)

    async def _after_success(self, s: _GlucoseSession, meter: PairedMeter) -> None:
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

    # ---------------------------------------------------------------- blood pressure
    async def _blood_pressure(self, client: BleakClient, meter: PairedMeter, lost: asyncio.Event) -> str:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bps.BloodPressureMeasurement, datetime]] = asyncio.Queue()
        activity = [loop.time()]

        def on_value(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            activity[0] = loop.time()
            try:
                queue.put_nowait((bps.decode_measurement(data), self.now()))
            except ValueError as exc:
                log.warning(
                    "血压记录格式错误，已跳过 BP value skipped from %s: %s (value %s)",
                    meter.address,
                    exc,
                    bytes(data).hex(),
                )

        await client.start_notify(U.BLOOD_PRESSURE_MEASUREMENT, on_value)
        while True:
            while not queue.empty():
                await self._emit_bp(meter, *queue.get_nowait())
            if lost.is_set():
                return "ok"  # BPS meters hang up once their stored readings are confirmed
            remaining = activity[0] + self.settings.bp_idle_s - loop.time()
            if remaining <= 0:
                return "ok"
            getter = asyncio.ensure_future(queue.get())
            dropped = asyncio.ensure_future(lost.wait())
            await asyncio.wait(
                [getter, dropped], timeout=min(remaining, 1.0), return_when=asyncio.FIRST_COMPLETED
            )
            dropped.cancel()
            if getter.done():
                await self._emit_bp(meter, *getter.result())
            else:
                getter.cancel()

    async def _emit_bp(self, meter: PairedMeter, m: bps.BloodPressureMeasurement, received: datetime) -> None:
        sys_, dia = m.mmhg(m.systolic), m.mmhg(m.diastolic)
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


def _scanner_args(adapter: str) -> BlueZScannerArgs:
    return {"adapter": adapter} if adapter else {}


def _client_args(adapter: str) -> BlueZClientArgs:
    return {"adapter": adapter} if adapter else {}


def _numbers_backwards(order: list[tuple[int, datetime | None]]) -> bool:
    """True when a later meter time carries a smaller sequence number."""
    timed = sorted((t, seq) for seq, t in order if t is not None)
    return any(b[1] < a[1] for a, b in itertools.pairwise(timed) if b[0] > a[0])


async def scan(timeout: float, backend: Any = None, adapter: str = "") -> list[dict[str, Any]]:
    """Nearby devices that offer BPS or GLS (by advertised service or name), strongest first."""
    found = await BleakScanner.discover(
        timeout=timeout, return_adv=True, backend=backend, bluez=_scanner_args(adapter)
    )
    rows = []
    for device, adv in found.values():
        kinds = sorted({U.METER_SERVICES[u] for u in adv.service_uuids if u in U.METER_SERVICES})
        rows.append(
            {
                "name": device.name or adv.local_name or "",
                "address": device.address,
                "services": kinds,
                "service_uuids": list(adv.service_uuids),
                "rssi": adv.rssi,
            }
        )
    return sorted(rows, key=lambda r: (not r["services"], -int(r["rssi"] or -127)))


async def pair(
    store: MeterStore,
    address: str,
    now: datetime,
    *,
    backend: Any = None,
    timeout: float = 30.0,
    adapter: str = "",
    **pair_kwargs: Any,
) -> PairedMeter:
    """Bond with a meter, learn which service it offers, remember it. Raises BleakError/ValueError."""
    async with BleakClient(address, timeout=timeout, backend=backend, bluez=_scanner_args(adapter)) as client:
        await client.pair(**pair_kwargs)
        services = {s.uuid for s in client.services}
        kinds = [U.METER_SERVICES[u] for u in services if u in U.METER_SERVICES]
        if not kinds:
            raise ValueError(f"{address} offers neither Blood Pressure 0x1810 nor Glucose 0x1808")
        name = client.name or address
    await asyncio.to_thread(store.pair, address, kinds[0], name, now)
    meter = await asyncio.to_thread(store.get, address)
    assert meter is not None
    return meter
