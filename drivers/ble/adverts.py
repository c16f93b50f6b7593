"""Passive BLE advertisements from buttons and sensors, decoded with the parsers Home Assistant uses
(`bthome-ble` for BTHome v1/v2, encrypted with a per-device bind key or not). Never a hand-written parser.

`AdvertDecoder(address, key)` holds one device's parser; `decode(device, adv)` takes bleak's BLEDevice and
AdvertisementData exactly as `BleakScanner(detection_callback=...)` delivers them and returns a `Frame`, or
a `Refused` saying why (not BTHome, oversize, a plain frame from a device bound with a key, a wrong key or
a tampered frame). Replay protection by the counter is the caller's (it persists the last counter).
`identify(device, adv)` tells `hub ble scan` what a stranger is without a key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

BTHOME_UUIDS = ("0000fcd2-0000-1000-8000-00805f9b34fb",  # v2
                "0000181c-0000-1000-8000-00805f9b34fb", "0000181e-0000-1000-8000-00805f9b34fb")  # v1
XIAOMI_UUID = "0000fe95-0000-1000-8000-00805f9b34fb"
MAX_SERVICE_DATA = 64  # a legacy advert holds 31 bytes; more is garbage or an attack on the parser
EVENTS = {"press": "press", "double_press": "double", "long_press": "long", "triple_press": "triple",
          "long_double_press": "long", "hold_press": "long"}


@dataclass
class Frame:
    address: str
    encrypted: bool
    counter: int | None  # the AES-CCM counter of an encrypted frame
    events: list[str] = field(default_factory=list)  # "press" | "double" | "long" | "triple"
    battery_pct: int | None = None
    rssi: int | None = None
    model: str = ""
    packet_id: int | None = None  # BTHome object 0x00: the same advert repeated carries the same id


@dataclass
class Refused:
    address: str
    reason: str  # not_bthome | oversize | unencrypted | wrong_key | garbage
    rssi: int | None = None


def bthome_data(adv: Any) -> bytes | None:
    for uuid in BTHOME_UUIDS:
        data = adv.service_data.get(uuid)
        if data is not None:
            return bytes(data)
    return None


class AdvertDecoder:
    """One bound device's decoder: bthome-ble's BTHomeBluetoothDeviceData with the device's bind key."""

    def __init__(self, address: str, key: bytes | None) -> None:
        from bthome_ble import BTHomeBluetoothDeviceData

        self.address = address.upper()
        self.key = key
        self.parser = BTHomeBluetoothDeviceData(bindkey=key)

    def decode(self, device: Any, adv: Any) -> Frame | Refused:
        from habluetooth import BluetoothServiceInfoBleak

        rssi = getattr(adv, "rssi", None)
        data = bthome_data(adv)
        if data is None:
            return Refused(self.address, "not_bthome", rssi)
        if len(data) > MAX_SERVICE_DATA:
            return Refused(self.address, "oversize", rssi)
        encrypted = bool(data and data[0] & 0x01)
        if self.key is not None and not encrypted:
            return Refused(self.address, "unencrypted", rssi)  # downgrade: the key is the binding
        info = BluetoothServiceInfoBleak.from_device_and_advertisement_data(device, adv, "hub", time.monotonic(),
                                                                            False)
        p = self.parser
        # Replay protection is ours, on the persisted counter: bthome-ble's in-memory check is cleared so
        # that every frame is judged by one rule (drivers never keep state across restarts).
        p.reset_encryption_counter()
        p.last_service_info = None  # nor its 4-second duplicate filter: the counter decides
        p.packet_id = None
        try:
            update = p.update(info)
        except Exception:  # malformed objects: the library's own parsing failed
            return Refused(self.address, "garbage", rssi)
        if p.downgrade_detected:
            return Refused(self.address, "unencrypted", rssi)
        if encrypted and (self.key is None or p.decryption_failed):
            return Refused(self.address, "wrong_key", rssi)
        frame = Frame(self.address, encrypted, int(p.encryption_counter) if encrypted else None, rssi=rssi,
                      model=str(getattr(adv, "local_name", "") or ""))
        for key, event in update.events.items():
            if key.key.startswith("button") and event.event_type in EVENTS:
                frame.events.append(EVENTS[event.event_type])
        for key, value in update.entity_values.items():
            if key.key == "battery" and isinstance(value.native_value, int | float):
                frame.battery_pct = int(value.native_value)
            elif key.key == "packet_id" and isinstance(value.native_value, int | float):
                frame.packet_id = int(value.native_value)
        if not frame.events and not any(k.key not in ("signal_strength", "packet_id") for k in update.entity_values):
            return Refused(self.address, "garbage", rssi)
        return frame


def identify(device: Any, adv: Any) -> dict[str, Any] | None:
    """What a nearby advertiser is, for `hub ble scan`: BTHome (key needed or not) or Xiaomi MiBeacon."""
    data = bthome_data(adv)
    name = getattr(adv, "local_name", None) or getattr(device, "name", None) or ""
    base = {"address": str(device.address).upper(), "name": name, "rssi": getattr(adv, "rssi", None)}
    if data is not None and 0 < len(data) <= MAX_SERVICE_DATA:
        encrypted = bool(data[0] & 0x01)
        return {**base, "protocol": "bthome", "kind": _kind(name), "needs_key": encrypted}
    xiaomi = adv.service_data.get(XIAOMI_UUID)
    if xiaomi is not None and 5 <= len(xiaomi) <= MAX_SERVICE_DATA:
        frame_control = int.from_bytes(xiaomi[:2], "little")
        return {**base, "protocol": "xiaomi", "kind": "sensor", "needs_key": bool(frame_control & 0x08)}
    return None


def _kind(name: str) -> str:
    if name.startswith(("SBBT", "BTHome Button")):
        return "button"
    if name.startswith("SBDW"):
        return "door"
    if name.startswith("SBMO"):
        return "motion"
    return "sensor"


async def scan_adverts(timeout: float, *, adapter: str | None = None, backend: Any = None) -> list[dict[str, Any]]:
    """Listen for `timeout` seconds (passively: the callback only, no connection) and return each BTHome or
    Xiaomi advertiser once, strongest signal kept, strongest first."""
    import asyncio

    from bleak import BleakScanner

    found: dict[str, dict[str, Any]] = {}

    def seen(device: Any, adv: Any) -> None:
        item = identify(device, adv)
        if item is not None and len(found) < 200:
            old = found.get(item["address"])
            if old is None or (item["rssi"] or -999) > (old["rssi"] or -999):
                found[item["address"]] = item

    kwargs: dict[str, Any] = {"detection_callback": seen}
    if backend is not None:
        kwargs["backend"] = backend
    elif adapter:
        kwargs["adapter"] = adapter
    async with BleakScanner(**kwargs):
        await asyncio.sleep(timeout)
    return sorted(found.values(), key=lambda d: -(d["rssi"] or -999))
