"""What the meter code shares: the readings a download yields (blood pressure, glucose; the meter's
stamp placed in the hub's zone with a verdict), the settings that shape a download, and the base of
the two download procedures (`sensors/meters/glucose.py`, `sensors/meters/bp.py`): the paired-meter
store, where readings go and the hub's clock and zone. No bleak here (the link errors that end a
download are `sensors/meters/link.py`): the health component grades and stores readings with this
module alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from drivers.ble.features import Features
from drivers.ble.time import DateTime
from sensors.meters.profiles import SPEC, Profile
from sensors.meters.store import MeterStore

T = TypeVar("T")


@dataclass(frozen=True)
class BloodPressureReading:
    meter: str
    received_at: datetime  # hub time when the value arrived
    meter_time: datetime | None  # the meter's stamp placed in the hub's zone
    time_status: str  # ok | unset (year 0 etc.) | invalid (a field out of range) | implausible | absent
    systolic_mmhg: float
    diastolic_mmhg: float
    mean_arterial_mmhg: float | None
    pulse: float | None
    user_id: int | None
    status: dict[str, Any] | None
    unit: str  # as sent: mmHg or kPa
    raw: dict[str, Any]  # the decoded value as sent (`hub ble decode bp` keys)
    implausible: tuple[str, ...] = ()  # fields outside the plausibility ranges: not graded
    profile: str = SPEC.id
    time_problem: str | None = None


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
    implausible: tuple[str, ...] = ()
    profile: str = SPEC.id
    time_problem: str | None = None


@dataclass(frozen=True)
class KetoneReading:
    """A blood ketone test that a glucose meter sent as a glucose record with a vendor marker."""

    meter: str
    received_at: datetime
    meter_time: datetime | None
    time_status: str
    sequence: int
    mmol_per_l: float
    concentration: float | None  # as sent, in `unit`
    unit: str
    profile: str
    implausible: tuple[str, ...] = ()
    time_problem: str | None = None


@dataclass(frozen=True)
class MeterErrorReading:
    """The meter measured and failed ("Err" on its display): NaN values, or a pressure beyond range."""

    meter: str
    kind: str  # "bp" | "glucose"
    received_at: datetime
    meter_time: datetime | None
    problem: str  # e.g. "systolic NaN"
    value_hex: str
    fresh: bool  # measured just now (not an old stored error): the resident is asked to measure again


Reading = BloodPressureReading | GlucoseReading | KetoneReading | MeterErrorReading


def place_time(
    naive: datetime | None,
    stamp: DateTime | None,
    received: datetime,
    tz: tzinfo,
    future_min: float,
    max_age_days: float,
    *,
    utc: bool = False,
) -> tuple[datetime | None, str]:
    """Meter wall time -> aware time in the hub's zone, with a verdict the platform can filter on.
    `stamp` is the raw Date Time (None: the meter sent none); `naive` the time it stands for, None when
    unusable; `utc` when the meter's base is UTC rather than local wall time (a profile says so)."""
    if stamp is None:
        return None, "absent"
    if stamp.status != "ok" or naive is None:
        return None, "unset" if stamp.status == "unset" else "invalid"
    aware = naive.replace(tzinfo=UTC).astimezone(tz) if utc else naive.replace(tzinfo=tz)
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
    download_max_s: float = 120.0  # one meter's whole visit; the others wait at most this long
    fresh_min: float = 15.0  # a meter error this recent is spoken (older ones are only counted)


@dataclass(frozen=True)
class MeterDownload:
    """One download procedure's view of the coordinator; built per connection."""

    store: MeterStore
    on_reading: OnReading
    tz: tzinfo
    now: Callable[[], datetime]
    settings: MeterSettings
    profile: Profile = SPEC
    features: Features | None = None

    def fresh(self, meter_time: datetime | None, received: datetime) -> bool:
        """Measured just now: no usable meter time (the meter sends right after measuring) or recent."""
        return meter_time is None or abs(received - meter_time) <= timedelta(minutes=self.settings.fresh_min)


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
