"""`hub ble scan` and `hub ble pair`: nearby meters, and bonding with one (learning its kind and name)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bleak import BleakClient, BleakScanner

from drivers.ble import uuids as U
from sensors.meters.coordinator import _scanner_args
from sensors.meters.store import MeterStore, PairedMeter


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
