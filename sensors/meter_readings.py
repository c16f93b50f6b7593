"""What the meter code shares: the readings a download yields (blood pressure, glucose; the meter's
stamp placed in the hub's zone with a verdict), the settings that shape a download, the link errors
that end one, and the base of the two download procedures (`sensors/meter_glucose.py`,
`sensors/meter_bp.py`): the paired-meter store, where readings go and the hub's clock and zone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from bleak.exc import BleakError

from sensors.meter_store import MeterStore

LINK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)
T = TypeVar("T")


@dataclass(frozen=True)
class BloodPressureReading:
    meter: str
    received_at: datetime  # hub time when the value arrived
    meter_time: datetime | None  # the meter's stamp placed in the hub's zone
    time_status: str  # ok | unset (year 0 etc.) | implausible | absent
    systolic_mmhg: float
    diastolic_mmhg: float
    mean_arterial_mmhg: float | None
    pulse: float | None
    user_id: int | None
    status: dict[str, Any] | None
    unit: str  # as sent: mmHg or kPa
    raw: dict[str, Any]  # the decoded value as sent (`hub ble decode bp` keys)


@dataclass(frozen=True)
class GlucoseReading:
    meter: str
    received_at: datetime
    meter_time: datetime | None
    time_status: str
    sequence: int
    mmol_per_l: float | None  # None only when the meter showed HI/LO (out_of_range)
    meal: str | None  # before | after | fasting | casual | bedtime, from the context when sent
    type: str | None
    location: str | None
    sensor_status: list[str]
    unit: str  # as sent: kg/L or mol/L
    concentration: float | None  # as sent, in that unit
    # "high" / "low": the meter read above / below its range ("HI" / "LO" on its display; SFLOAT ±INF).
    # Kept rather than dropped: those are the readings the community must hear about at once.
    out_of_range: str | None = None


Reading = BloodPressureReading | GlucoseReading


def place_time(
    naive: datetime | None,
    unset: bool,
    received: datetime,
    tz: tzinfo,
    future_min: float,
    max_age_days: float,
    *,
    absent: bool = False,
) -> tuple[datetime | None, str]:
    """Meter wall time -> aware time in the hub's zone, with a verdict the platform can filter on."""
    if absent:
        return None, "absent"
    if naive is None or unset:
        return None, "unset"
    aware = naive.replace(tzinfo=tz)
    if aware > received + timedelta(minutes=future_min) or aware < received - timedelta(days=max_age_days):
        return aware, "implausible"
    return aware, "ok"


OnReading = Callable[[Reading], Awaitable[None]]


@dataclass(frozen=True)
class MeterSettings:
    connect_timeout_s: float = 20.0
    racp_timeout_s: float = 15.0  # silence allowed while the meter is sending records
    bp_idle_s: float = 10.0  # BPS meters hang up when done; this is the fallback
    cooldown_s: float = 10.0  # ignore a meter's adverts this long after a complete download
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    write_time: bool = True
    future_tolerance_min: float = 60.0
    max_age_days: float = 400.0
    rescan_s: float = 10.0  # re-read the paired list (the CLI pairs while the hub runs)
    adapter: str = ""  # BlueZ adapter, e.g. "hci1"; "" = the default one


@dataclass(frozen=True)
class MeterDownload:
    """One download procedure's view of the coordinator; built per connection."""

    store: MeterStore
    on_reading: OnReading
    tz: tzinfo
    now: Callable[[], datetime]
    settings: MeterSettings


def decode_or_skip(
    decode: Callable[[bytes | bytearray], T], data: bytearray, what: str, address: str, log: logging.Logger
) -> T | None:
    """A notified value decoded, or None with a warning naming the meter and the bytes: one bad value
    from a meter must not end its download."""
    try:
        return decode(data)
    except ValueError as exc:
        log.warning("%s from %s: %s (value %s)", what, address, exc, bytes(data).hex())
        return None


async def next_or_lost(queue: asyncio.Queue[T], lost: asyncio.Event, timeout: float) -> T | None:
    """The next item of `queue`; None when the link is `lost` or `timeout` seconds pass first."""
    getter = asyncio.ensure_future(queue.get())
    dropped = asyncio.ensure_future(lost.wait())
    await asyncio.wait([getter, dropped], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    dropped.cancel()
    if getter.done():
        return getter.result()
    getter.cancel()
    return None
