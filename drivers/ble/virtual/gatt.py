"""The peripheral side of the virtual BLE backend: GATT services and characteristics as plain data, the
ATT errors a peripheral's handlers raise, the link between one peripheral and one client (CCCD state,
notify/indicate with a yield per value so the peer can drop the link in between) and the
`VirtualPeripheral` base that simulated meters and wearables subclass. It knows neither bleak nor the radio:
only the `Central` it delivers to and the `Air` it advertises on, both protocols defined here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

CCCD_NOTIFY, CCCD_INDICATE = 1, 2


class AttError(Exception):
    """Raised by a peripheral's handlers; the client side turns it into BleakGATTProtocolError."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LinkLost(Exception):
    """The peripheral tried to send on a link that is gone."""


WriteHandler = Callable[["Link", bytes], Awaitable[None]]


class Central(Protocol):
    """The client end of a link, as the peripheral sees it (the bleak backend's client implements it)."""

    def _deliver(self, uuid: str, data: bytes) -> None: ...

    def _peer_gone(self) -> None: ...


class Air(Protocol):
    """Where a peripheral advertises (the radio that joins peripherals and scanners implements it)."""

    def announce(self, peripheral: VirtualPeripheral) -> None: ...


@dataclass
class GattChar:
    uuid: str
    properties: list[str]
    value: bytes = b""
    requires_bond: bool = False
    on_write: WriteHandler | None = None


@dataclass
class GattService:
    uuid: str
    chars: list[GattChar]


@dataclass
class Link:
    peripheral: VirtualPeripheral
    client: Central
    encrypted: bool
    up: bool = True
    cccd: dict[str, int] = field(default_factory=dict)
    armed: dict[str, bool] = field(default_factory=dict)

    async def send(self, uuid: str, data: bytes) -> bool:
        """Notify/indicate `data`; False when the client has not enabled it. Raises LinkLost."""
        if not self.up:
            raise LinkLost(self.peripheral.address)
        if not self.cccd.get(uuid):
            return False
        if self.armed.get(uuid, True):
            self.client._deliver(uuid, bytes(data))
        await asyncio.sleep(0)  # the confirmation round trip: lets the peer drop the link in between
        if not self.up:
            raise LinkLost(self.peripheral.address)
        return True


class VirtualPeripheral:
    """A GATT server. Meter models subclass it and override the on_* hooks."""

    def __init__(
        self,
        address: str,
        name: str,
        services: list[GattService],
        *,
        advertised: list[str] | None = None,
        rssi: int = -60,
        passkey: str | None = None,
    ) -> None:
        self.address, self.name, self.services, self.rssi = address.upper(), name, services, rssi
        self.advertised = advertised if advertised is not None else [s.uuid for s in services]
        self.passkey = passkey
        # What each advert carries beside the name and UUIDs (16-bit service data such as BTHome's FCD2,
        # manufacturer data by company id), as a beacon or button that only advertises sends it.
        self.service_data: dict[str, bytes] = {}
        self.manufacturer_data: dict[int, bytes] = {}
        self.advertising = False
        self.bonded = False
        self.link: Link | None = None
        self.radio: Air | None = None

    def char(self, uuid: str) -> GattChar:
        for service in self.services:
            for c in service.chars:
                if c.uuid == uuid:
                    return c
        raise KeyError(uuid)

    def start_advertising(self) -> None:
        if self.link is None:
            self.advertising = True
            if self.radio is not None:
                self.radio.announce(self)

    def advertise_once(self, service_data: dict[str, bytes]) -> None:
        """One advertisement with this service data, heard by every scanner now (a button's burst on a
        press); it stays the peripheral's current advert, repeated while it advertises."""
        self.service_data = dict(service_data)
        if self.radio is not None:
            self.radio.announce(self)

    def drop_link(self) -> None:
        """Radio loss or the meter hanging up: the client gets an unsolicited disconnect."""
        link, self.link = self.link, None
        if link is not None and link.up:
            link.up = False
            self.on_disconnect(link)
            link.client._peer_gone()

    async def on_connect(self, link: Link) -> None:
        pass

    async def on_subscribe(self, link: Link, uuid: str) -> None:
        pass

    def on_disconnect(self, link: Link) -> None:
        pass
