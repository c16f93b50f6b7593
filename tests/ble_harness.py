"""The test harness for meter downloads: a MeterCoordinator on the virtual bleak backend with simulated
meters added, paired and bonded, and the readings it hands over collected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from drivers.ble.virtual.radio import VirtualRadio
from hub.health.sim.bp_meter import SimBpMeter
from hub.health.sim.glucose_meter import SimGlucoseMeter
from hub.health.sim.meter import Quirks
from sensors.meters.coordinator import GlucoseReading, MeterCoordinator, MeterSettings, Reading
from sensors.meters.profiles import Profile
from sensors.meters.store import MeterStore

BP, GLU = "AA:00:00:00:00:01", "AA:00:00:00:00:02"
T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


class Harness:
    def __init__(
        self, tmp: Path | str, *, tz: tzinfo = UTC, profiles: list[Profile] | None = None, **settings: Any
    ) -> None:
        self.now = T0
        self.tz = tz
        self.radio = VirtualRadio(ad_interval_s=0.02)
        self.store = MeterStore(tmp if tmp == ":memory:" else Path(tmp) / "meters.sqlite")
        self.readings: list[Reading] = []
        self.coordinator = MeterCoordinator(
            self.store,
            self._got,
            tz=tz,
            profiles=profiles,
            now=lambda: self.now,
            settings=MeterSettings(**{"racp_timeout_s": 0.5, "bp_idle_s": 0.3, **settings}),
            client_backend=self.radio.client_backend,
            scanner_backend=self.radio.scanner_backend,
        )

    async def _got(self, reading: Reading) -> None:
        self.readings.append(reading)

    def local(self) -> datetime:
        return self.now.astimezone(self.tz).replace(tzinfo=None)

    def glucose(self, quirks: Quirks | None = None, bond: bool = True, name: str = "SIM-GLU") -> SimGlucoseMeter:
        meter = SimGlucoseMeter(GLU, self.local, quirks, name=name)
        self.radio.add(meter)
        if bond:
            self.radio.bond(GLU)
        self.store.pair(GLU, "glucose", meter.name, self.now)
        return meter

    def bp(self, quirks: Quirks | None = None, name: str = "SIM-BP") -> SimBpMeter:
        meter = SimBpMeter(BP, self.local, quirks, name=name)
        self.radio.add(meter)
        self.radio.bond(BP)
        self.store.pair(BP, "bp", meter.name, self.now)
        return meter

    async def sync(self, address: str) -> str:
        meter = self.store.get(address)
        assert meter is not None
        return await self.coordinator.sync(address, meter)

    def sequences(self) -> list[int]:
        return [r.sequence for r in self.readings if isinstance(r, GlucoseReading)]


def run(coro_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coro_fn(), 20))
