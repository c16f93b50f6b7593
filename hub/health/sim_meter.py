"""What both simulated Bluetooth meters share: the quirk profiles that reproduce what real meters do
(push records as soon as notifications are enabled, refuse an unbonded link, number records
backwards, lose their clock (year 0), drop the link mid-transfer), and `SimMeter`, a virtual
peripheral with a wall clock the hub can set through the Current Time Service, as real meters let it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.ble import uuids as U
from drivers.ble.time import DateTime, decode_current_time, decode_date_time, encode_current_time
from drivers.ble.virtual_gatt import AttError, GattChar, GattService, Link, VirtualPeripheral

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
