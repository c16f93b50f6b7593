"""What both simulated Bluetooth meters share: the quirks that reproduce what real meters do (push
records as soon as notifications are enabled, refuse an unbonded link, number records backwards, lose
their clock (year 0) or send impossible clock fields, stamp in UTC, drop the link mid-transfer; BP: pulse
and status big-endian, a user ID without its flag, reserved flag bits; glucose: RACP answers with a
non-null operator, "all records" ignored, only first/last supported, an answer that is no answer),
and `SimMeter`, a virtual peripheral with Device Information (what quirk profiles match on) and a wall
clock the hub can set through the Current Time Service, as real meters let it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drivers.ble import uuids as U
from drivers.ble.time import DateTime, decode_current_time, decode_date_time, encode_current_time
from drivers.ble.virtual.gatt import AttError, GattChar, GattService, Link, VirtualPeripheral

QUIRKS = (
    "push_on_subscribe",
    "requires_bonding",
    "reversed_sequence",
    "year0_clock",
    "bad_clock",
    "utc_clock",
    "byte_swapped",
    "user_id_without_flag",
    "reserved_flags",
    "racp_operator",
    "racp_ignores_all",
    "racp_first_last_only",
    "racp_odd_answer",
    "racp_silent",
)


@dataclass
class Quirks:
    push_on_subscribe: bool = False
    requires_bonding: bool = False
    reversed_sequence: bool = False
    year0_clock: bool = False
    bad_clock: bool = False  # stamps with minutes = 99
    utc_clock: bool = False  # stamps in UTC (utc_offset_min behind local), no time offset
    byte_swapped: bool = False  # BP pulse and status most-significant byte first
    user_id_without_flag: bool = False  # BP user-ID byte sent, flag bit 3 clear
    reserved_flags: bool = False  # BP flag bits 5-7 set
    racp_operator: bool = False  # RACP responses carry operator 1 instead of 0 (null)
    racp_ignores_all: bool = False  # "all records" gets no answer at all
    racp_first_last_only: bool = False  # only "first" / "last record" forms; others: not supported
    racp_odd_answer: bool = False  # after the records, a "number of records" instead of a response code
    racp_silent: bool = False  # hears every RACP request, answers none
    drop_after: int | None = None  # drop the link after this many records (once), then re-advertise
    utc_offset_min: int = 480
    manufacturer: str = "Eldercare Sim"  # Device Information 0x2A29 (quirk profiles match on it)
    model: str = ""

    @classmethod
    def named(cls, *names: str) -> Quirks:
        unknown = set(names) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {', '.join(QUIRKS)}")
        quirks = cls()
        for n in names:
            setattr(quirks, n, True)
        return quirks


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
        self.clock_writes: list[str] = []  # which characteristic the hub set the clock through
        self._tasks: set[asyncio.Task[None]] = set()
        cts = GattService(
            U.CURRENT_TIME_SERVICE,
            [
                GattChar(U.CURRENT_TIME, ["read", "write", "notify"], on_write=self._set_time),
                GattChar(U.DATE_TIME, ["write"], on_write=self._set_date_time),
            ],
        )
        dis = GattService(
            U.DEVICE_INFORMATION_SERVICE,
            [
                GattChar(U.MANUFACTURER_NAME, ["read"], value=quirks.manufacturer.encode()),
                GattChar(U.MODEL_NUMBER, ["read"], value=(quirks.model or name).encode()),
            ],
        )
        super().__init__(
            address, name, [*services, cts, dis], advertised=[services[0].uuid], passkey=passkey
        )
        self.char(U.CURRENT_TIME).value = encode_current_time(self.now())

    def wall(self) -> DateTime:
        """What the meter would stamp now; year 0 (with month/day 0) after losing its clock."""
        t = self.now()
        if self.clock_offset is None:
            return DateTime(0, 0, 0, t.hour, t.minute, t.second)
        if self.quirks.bad_clock:
            return DateTime(t.year, t.month, t.day, t.hour, 99, t.second)
        if self.quirks.utc_clock:
            return DateTime.from_datetime(t - timedelta(minutes=self.quirks.utc_offset_min))
        return DateTime.from_datetime(t)

    async def _set_date_time(self, link: Link, data: bytes) -> None:
        await self._set_time(link, data, "date_time")

    async def _set_time(self, link: Link, data: bytes, via: str = "current_time") -> None:
        self.clock_writes.append(via)
        try:
            stamp = decode_current_time(data).date_time if len(data) >= 10 else decode_date_time(data)
        except ValueError:
            raise AttError(0x80) from None  # too short, as the CTS spec answers a bad value
        if stamp.status != "ok":
            raise AttError(0x80)  # out of range
        self.clock_offset = 0.0

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim-meter.{self.address}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
