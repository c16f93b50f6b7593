"""The bleak side of the virtual BLE backend: `VirtualBleakClient` and `VirtualBleakScanner` implement
bleak's backend interfaces over a `VirtualRadio`, so `BleakClient(..., backend=radio.client_backend)`
and `BleakScanner(..., backend=radio.scanner_backend)` reach in-process peripherals. The client turns
a peripheral's `AttError` into `BleakGATTProtocolError`, enforces bonding per characteristic, and
models BlueZ's AcquireNotify hand-over; the scanner hears adverts as a real one would, repeatedly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, Protocol

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from drivers.ble import uuids as U
from drivers.ble.virtual.gatt import CCCD_INDICATE, CCCD_NOTIFY, AttError, GattChar, Link, VirtualPeripheral


class Radio(Protocol):
    """What the backends need of the radio that owns them (`drivers/ble/virtual/radio.py` implements it)."""

    ad_interval_s: float
    peripherals: dict[str, VirtualPeripheral]
    bonds: set[str]
    scanners: set[VirtualBleakScanner]

log = logging.getLogger(__name__)


class VirtualBleakClient(BaseBleakClient):
    radio: ClassVar[Radio]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self.address = self.address.upper()
        self._link: Link | None = None
        self._callbacks: dict[str, NotifyCallback] = {}
        self._peripheral: VirtualPeripheral | None = None

    @property
    def name(self) -> str:
        p = self.radio.peripherals.get(self.address)
        return p.name if p else self.address

    @property
    def mtu_size(self) -> int:
        return 23

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.up

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        p = self.radio.peripherals.get(self.address)
        await asyncio.sleep(0)
        if p is None or not p.advertising or p.link is not None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        p.advertising = False
        self._peripheral = p
        self._link = p.link = Link(p, self, encrypted=self.address in self.radio.bonds and p.bonded)
        self.services = _collection(p)
        if pair:
            await self.pair()
        await p.on_connect(self._link)

    async def disconnect(self) -> None:
        link, self._link = self._link, None
        if link is not None and link.up:
            link.up = False
            link.peripheral.link = None
            link.peripheral.on_disconnect(link)
        await asyncio.sleep(0)

    def _peer_gone(self) -> None:
        self._link = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, passkey: str | None = None, **kwargs: Any) -> None:
        p = self._need_link().peripheral
        if p.passkey is not None and passkey != p.passkey:
            raise BleakError(
                f"org.bluez.Error.AuthenticationFailed: passkey for {self.address} "
                f"{'missing' if passkey is None else 'wrong'}"
            )
        self.radio.bonds.add(self.address)
        p.bonded = True
        self._need_link().encrypted = True

    async def unpair(self) -> None:
        self.radio.bonds.discard(self.address)
        p = self.radio.peripherals.get(self.address)
        if p is not None:
            p.bonded = False

    def _need_link(self) -> Link:
        if self._link is None or not self._link.up:
            raise BleakError("Not connected")
        return self._link

    def _gatt(self, characteristic: BleakGATTCharacteristic) -> GattChar:
        gatt: GattChar = characteristic.obj
        if gatt.requires_bond and not self._need_link().encrypted:
            raise BleakGATTProtocolError(U.ATT_INSUFFICIENT_AUTHENTICATION)
        return gatt

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._need_link()
        gatt = self._gatt(characteristic)
        if "read" not in gatt.properties:
            raise BleakGATTProtocolError(U.ATT_READ_NOT_PERMITTED)
        await asyncio.sleep(0)
        return bytearray(gatt.value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        link = self._need_link()
        gatt = self._gatt(characteristic)
        if not {"write", "write-without-response"} & set(gatt.properties):
            raise BleakGATTProtocolError(U.ATT_WRITE_NOT_PERMITTED)
        try:
            if gatt.on_write is not None:
                await gatt.on_write(link, bytes(data))
            else:
                gatt.value = bytes(data)
        except AttError as exc:
            if response:
                raise BleakGATTProtocolError(exc.code) from None
        await asyncio.sleep(0)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        link = self._need_link()
        return bytearray(link.cccd.get(descriptor.obj, 0).to_bytes(2, "little"))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        self._need_link().cccd[descriptor.obj] = int.from_bytes(bytes(data)[:2], "little")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        link = self._need_link()
        gatt = self._gatt(characteristic)
        if "notify" in gatt.properties:
            mode = CCCD_NOTIFY  # bleak prefers notifications when both are offered
        elif "indicate" in gatt.properties:
            mode = CCCD_INDICATE
        else:
            raise BleakError(f"Characteristic {gatt.uuid} does not support notify or indicate")
        bluez = kwargs.get("bluez") or {}
        self._callbacks[gatt.uuid] = callback
        link.cccd[gatt.uuid] = mode
        # AcquireNotify (notifications without use_start_notify) misses what arrives during the hand-over.
        link.armed[gatt.uuid] = mode == CCCD_INDICATE or bool(bluez.get("use_start_notify"))
        await link.peripheral.on_subscribe(link, gatt.uuid)
        link.armed[gatt.uuid] = True

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        link = self._need_link()
        uuid = characteristic.obj.uuid
        link.cccd[uuid] = 0
        self._callbacks.pop(uuid, None)

    def _deliver(self, uuid: str, data: bytes) -> None:
        callback = self._callbacks.get(uuid)
        if callback is None:
            return
        try:
            callback(bytearray(data))
        except Exception:  # the BlueZ backend logs callback errors the same way
            log.exception("notification callback for %s raised", uuid)


def _collection(p: VirtualPeripheral) -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()
    handle = 1
    for s in p.services:
        service = BleakGATTService(s, handle, s.uuid)
        services.add_service(service)
        handle += 1
        for c in s.chars:
            char = BleakGATTCharacteristic(
                c,
                handle + 1,
                c.uuid,
                list(c.properties),  # type: ignore[arg-type]
                lambda: 20,
                service,
            )
            services.add_characteristic(char)
            handle += 2
            if {"notify", "indicate"} & set(c.properties):
                services.add_descriptor(BleakGATTDescriptor(c.uuid, handle, U.CCCD, char))
                handle += 1
    return services


class VirtualBleakScanner(BaseBleakScanner):
    radio: ClassVar[Radio]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None
        self._announced = asyncio.Event()  # a peripheral started advertising: repeat its adverts

    async def start(self) -> None:
        self.seen_devices = {}
        self.radio.scanners.add(self)
        for p in list(self.radio.peripherals.values()):
            if p.advertising:
                self._heard(p)
        self._task = asyncio.get_running_loop().create_task(self._repeat(), name="virtual-ble.adverts")

    async def stop(self) -> None:
        self.radio.scanners.discard(self)
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await asyncio.sleep(0)

    async def _repeat(self) -> None:
        while True:  # advertisers repeat; a scanner that ignored one advert hears the next
            if not any(p.advertising for p in self.radio.peripherals.values()):
                self._announced.clear()  # a quiet radio: nothing to repeat, no timer (bench/idle.py)
                await self._announced.wait()
            await asyncio.sleep(self.radio.ad_interval_s)
            for p in list(self.radio.peripherals.values()):
                if p.advertising:
                    self._heard(p)

    def _heard(self, p: VirtualPeripheral) -> None:
        self._announced.set()
        adv = AdvertisementData(
            local_name=p.name,
            manufacturer_data=dict(p.manufacturer_data),
            service_data=dict(p.service_data),
            service_uuids=list(p.advertised),
            tx_power=None,
            rssi=p.rssi,
            platform_data=(),
        )
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        device = self.create_or_update_device(p.address, p.address, p.name, p, adv)
        self.call_detection_callbacks(device, adv)
