"""Figures for the BLE path: decode rate of the parsers, and a full 500-record glucose download
through bleak's API over the virtual backend (hub-side cost only; a real link adds ~7.5-30 ms/record)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from drivers.ble import bps, gls
from drivers.ble.virtual.radio import VirtualRadio
from hub.health.sim.glucose_meter import SimGlucoseMeter
from hub.health.sim.meter import Quirks
from sensors.meters.coordinator import MeterCoordinator, MeterSettings, Reading
from sensors.meters.store import MeterStore

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


def decode_rate() -> None:
    bp = bps.encode_measurement(185, 112, timestamp=T0.replace(tzinfo=None), pulse=80, user_id=1, status=0)
    stamp = T0.replace(tzinfo=None)
    gm = gls.encode_measurement(7, stamp, mmol_per_l=5.6, time_offset_min=0, sensor_status=0)
    swapped = bytes.fromhex("1eb90070008800e80705060800000048010004")  # a Beurer BM85 value
    big = frozenset({"pulse", "status"})
    for name, fn, value in (
        ("bp", bps.decode_measurement, bp),
        ("glucose", gls.decode_measurement, gm),
        ("bp, byte-swapped profile", lambda v: bps.decode_measurement(v, big_endian=big, infer_user_id=True),
         swapped),
    ):
        n, start = 20000, time.perf_counter()
        for _ in range(n):
            fn(value)
        print(f"decode {name}: {n / (time.perf_counter() - start):,.0f} values/s")


async def download(records: int, quirks: Quirks | None = None) -> None:
    radio = VirtualRadio()
    with tempfile.TemporaryDirectory() as tmp, MeterStore(Path(tmp) / "m.sqlite") as store:
        got: list[Reading] = []

        async def on_reading(r: Reading) -> None:
            got.append(r)

        meter = SimGlucoseMeter("AA:00:00:00:00:02", lambda: T0.replace(tzinfo=None), quirks)
        radio.add(meter)
        radio.bond(meter.address)
        store.pair(meter.address, "glucose", "bench", T0)
        for i in range(records):
            meter.measure(4 + (i % 80) / 10, "fasting" if i % 3 == 0 else None)
        c = MeterCoordinator(store, on_reading, tz=UTC, now=lambda: T0, settings=MeterSettings(),
                             client_backend=radio.client_backend)
        start = time.perf_counter()
        outcome = await c.sync(meter.address, store.get(meter.address))  # type: ignore[arg-type]
        took = time.perf_counter() - start
        label = f" ({', '.join(k for k, v in vars(quirks).items() if v is True)})" if quirks else ""
        print(f"download {records} records{label}: {outcome}, {len(got)} readings in {took:.2f} s "
              f"({took / records * 1000:.2f} ms/record incl. SQLite de-dup keys)")


if __name__ == "__main__":
    decode_rate()
    asyncio.run(download(500))
    asyncio.run(download(500, Quirks(racp_operator=True, manufacturer="i-SENS")))
