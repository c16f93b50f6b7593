"""A simulated blood-pressure meter (Blood Pressure Service): each measurement is stored as the exact
0x2A35 bytes of the Bluetooth SIG format and the meter advertises; once the hub enables indications
it sends what it holds, forgets each value the hub confirms, and hangs up, as real BPS meters do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from drivers.ble import bps
from drivers.ble import uuids as U
from drivers.ble.sfloat import Special
from drivers.ble.virtual.gatt import GattChar, GattService, Link, LinkLost
from hub.health.sim.meter import Quirks, SimMeter


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

    def measure(
        self, systolic: float, diastolic: float, pulse: float | None = None, status: int = 0
    ) -> bytes:
        value = bytearray(
            bps.encode_measurement(
                systolic, diastolic, timestamp=self.wall(), pulse=pulse, user_id=1, status=status
            )
        )
        q = self.quirks
        pulse_at = 14 if pulse is not None else None  # flags, 3 pressures, time stamp
        status_at = len(value) - 2
        if q.byte_swapped:
            for at in (pulse_at, status_at):
                if at is not None:
                    value[at], value[at + 1] = value[at + 1], value[at]
        if q.user_id_without_flag:
            value[0] &= ~bps.FLAG_USER_ID
        if q.reserved_flags:
            value[0] |= 0xE0
        return self._store(bytes(value))

    def measure_error(self) -> bytes:
        """What a cuff showing "Err" sends: NaN pressures and pulse with a time stamp and status 0."""
        nan = Special.NAN
        value = bps.encode_measurement(nan, nan, nan, timestamp=self.wall(), status=0)
        value = value[:14] + bytes.fromhex("ff07") + value[14:]  # pulse NaN too
        return self._store(bytes([value[0] | bps.FLAG_PULSE]) + value[1:])

    def _store(self, value: bytes) -> bytes:
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
