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

Per connection the hub also reads what the meter says about itself (Device Information 0x180A
manufacturer 0x2A29 and model 0x2A24, the advertised name, Blood Pressure Feature 0x2A49 / Glucose
Feature 0x2A51) and picks its quirk profile (`sensors/meters/profiles.py`): byte order, flags, RACP
forms, time base, clock characteristic, ketone marker. One meter's visit is bounded by
`download_max_s` and a failing meter backs off on its own, so it never holds up the others.

This module is the coordinator (scanning, one connection at a time, the clock write, back-off); the
`hub ble scan|pair` helpers are `sensors/meters/pairing.py`; the procedures are
`sensors/meters/glucose.py` and `sensors/meters/bp.py`, the readings and settings `sensors/meters/readings.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.args.bluez import BlueZClientArgs, BlueZScannerArgs
from bleak.backends.device import BLEDevice
from bleak.exc import BleakGATTProtocolError

from drivers.ble import uuids as U
from drivers.ble.features import Features, decode_bp_feature, decode_glucose_feature
from drivers.ble.time import encode_current_time, encode_date_time
from sensors.meters.bp import BloodPressureDownload
from sensors.meters.glucose import GlucoseDownload
from sensors.meters.glucose import GlucoseSession as _GlucoseSession  # noqa: F401  (tests/test_ble_fuzz.py)
from sensors.meters.link import LINK_ERRORS
from sensors.meters.profiles import Identity, Profile, choose, table
from sensors.meters.readings import BloodPressureReading as BloodPressureReading  # re-exported for tests
from sensors.meters.readings import GlucoseReading as GlucoseReading  # re-exported for tests
from sensors.meters.readings import MeterSettings, OnReading
from sensors.meters.readings import Reading as Reading  # re-exported for tests and bench/ble_download.py
from sensors.meters.store import MeterStore, PairedMeter, norm

log = logging.getLogger(__name__)
_AUTH_ERRORS = (U.ATT_INSUFFICIENT_AUTHENTICATION, U.ATT_INSUFFICIENT_ENCRYPTION)


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
        profiles: list[Profile] | None = None,
        next_instant: Callable[[float, float], float] | None = None,
    ) -> None:
        self.store, self.on_reading, self.tz, self.now = store, on_reading, tz, now
        # (period, loop time) -> when to look at the paired list next: the hub's shared timer grid
        # (hub.core.ticks), so this wake-up falls together with its other 10 s timers.
        self.next_instant = next_instant or (lambda period, now: now + period)
        self.settings = settings or MeterSettings()
        self.client_backend, self.scanner_backend = client_backend, scanner_backend
        self.profiles = table() if profiles is None else profiles
        self.lock = asyncio.Lock()  # one connection at a time: the adapter and meters prefer it
        self.last_outcome: dict[str, str] = {}
        self.last_profile: dict[str, str] = {}
        self._cooldown: dict[str, float] = {}
        self._backoff: dict[str, Backoff] = {}

    # ---------------------------------------------------------------- scanning
    async def run(self) -> None:
        scan_backoff = Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s)
        loop = asyncio.get_running_loop()
        while True:
            try:
                device, meter = await self._wait_for_meter()
            except LINK_ERRORS as exc:
                log.warning(
                    "蓝牙扫描失败，稍后重试 BLE scan failed: %s; check the adapter "
                    "(bluetoothctl show; rfkill unblock bluetooth)",
                    exc,
                )
                await asyncio.sleep(scan_backoff.next())
                continue
            scan_backoff.reset()
            async with self.lock:
                try:
                    async with asyncio.timeout(self.settings.download_max_s):
                        outcome = await self.sync(device, meter)
                except TimeoutError:
                    log.warning(
                        "仪器下载超时 meter %s took over %.0f s; hung up so other meters are served",
                        meter.address,
                        self.settings.download_max_s,
                    )
                    outcome = self._done(meter, "too_long")
            # A meter that failed waits on its own back-off; the others are still heard meanwhile.
            backoff = self._backoff.setdefault(
                meter.address, Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s)
            )
            if outcome in ("ok", "no_records"):
                backoff.reset()
                self._cooldown[meter.address] = loop.time() + self.settings.cooldown_s
            else:
                self._cooldown[meter.address] = loop.time() + backoff.next()

    async def _wait_for_meter(self) -> tuple[BLEDevice, PairedMeter]:
        loop = asyncio.get_running_loop()
        found: asyncio.Future[tuple[BLEDevice, PairedMeter]] = loop.create_future()
        stamp, looks = self._files_stamp(), 0  # before the read: a commit during it shows next time
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
                now = loop.time()
                await asyncio.wait([found], timeout=self.next_instant(self.settings.rescan_s, now) - now)
                # Read the list again (a worker thread's wake-ups) only when the store's files changed
                # (`hub ble pair` in another process), and every RELOOK-th look regardless.
                looks += 1
                fresh_stamp = self._files_stamp()
                if found.done() or self.store.unchanged(stamp, fresh_stamp, looks):
                    continue
                stamp = fresh_stamp
                fresh = {m.address: m for m in await asyncio.to_thread(self.store.meters)}
                paired.clear()
                paired.update(fresh)
        return found.result()

    def _files_stamp(self) -> tuple[tuple[int, int, int], ...] | None:
        return self.store.files_stamp()  # (a method of its own: tests/test_ble_meters.py counts the looks)

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
        except LINK_ERRORS as exc:
            log.info("meter %s not reachable: %s", meter.address, exc)
            return self._done(meter, "connect_failed")
        try:
            services = {s.uuid for s in client.services}
            kind = "glucose" if U.GLUCOSE_SERVICE in services else "bp"
            who, features = await self._identity(client, meter, kind)
            profile = choose(self.profiles, kind, who)
            self.last_profile[meter.address] = profile.id
            if profile.id != "spec":
                log.info("meter %s (%s %s, %r): quirk profile %s", meter.address, who.manufacturer,
                         who.model, who.name, profile.id)
            if self.settings.write_time and profile.clock != "none":
                await self._write_time(client, meter, profile.clock)
            needs = (self.store, self.on_reading, self.tz, self.now, self.settings, profile, features)
            if U.GLUCOSE_SERVICE in services:
                outcome = await GlucoseDownload(*needs).run(client, meter, lost)
            elif U.BLOOD_PRESSURE_SERVICE in services:
                outcome = await BloodPressureDownload(*needs).run(client, meter, lost)
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
        except LINK_ERRORS as exc:
            outcome = "lost" if lost.is_set() or not client.is_connected else "error"
            log.info("meter %s: %s during transfer (%s)", meter.address, outcome, exc)
        finally:
            with contextlib.suppress(*LINK_ERRORS):
                await client.disconnect()
        return self._done(meter, outcome)

    def _done(self, meter: PairedMeter, outcome: str) -> str:
        self.last_outcome[meter.address] = outcome
        return outcome

    async def _identity(
        self, client: BleakClient, meter: PairedMeter, kind: str
    ) -> tuple[Identity, Features | None]:
        """Device Information strings and the feature bits; each left empty when not readable."""

        async def read(uuid: str) -> bytes | None:
            char = client.services.get_characteristic(uuid)
            if char is None or "read" not in char.properties:
                return None
            try:
                return bytes(await client.read_gatt_char(char))
            except BleakGATTProtocolError as exc:
                log.info("meter %s would not let %s be read (%s)", meter.address, uuid[4:8], exc)
                return None

        texts = []
        for uuid in (U.MANUFACTURER_NAME, U.MODEL_NUMBER):
            raw = await read(uuid)
            texts.append(raw.decode("utf-8", "replace").strip("\x00 ") if raw else "")
        feature_raw = await read(U.GLUCOSE_FEATURE if kind == "glucose" else U.BLOOD_PRESSURE_FEATURE)
        features = None
        if feature_raw:
            decode = decode_glucose_feature if kind == "glucose" else decode_bp_feature
            try:
                features = decode(feature_raw)
            except ValueError as exc:
                log.info("meter %s: feature value %s unreadable (%s)", meter.address, feature_raw.hex(), exc)
        name = meter.name if meter.name != meter.address else (client.name or "")
        who = Identity(name, texts[0], texts[1], None if features is None else features.raw)
        return who, features

    async def _write_time(self, client: BleakClient, meter: PairedMeter, clock: str = "current_time") -> None:
        local = self.now().astimezone(self.tz).replace(tzinfo=None)
        candidates = [(U.CURRENT_TIME, encode_current_time(local)), (U.DATE_TIME, encode_date_time(local))]
        if clock == "date_time":
            candidates.reverse()
        for uuid, payload in candidates:
            char = client.services.get_characteristic(uuid)
            if char is None or not {"write", "write-without-response"} & set(char.properties):
                continue
            try:
                await client.write_gatt_char(char, payload, response="write" in char.properties)
            except BleakGATTProtocolError as exc:
                log.info("meter %s refused the time write (%s); its stamps may drift", meter.address, exc)
            return


def _scanner_args(adapter: str) -> BlueZScannerArgs:
    return {"adapter": adapter} if adapter else {}


def _client_args(adapter: str) -> BlueZClientArgs:
    return {"adapter": adapter} if adapter else {}
