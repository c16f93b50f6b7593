"""Date Time 0x2A08, Day Date Time 0x2A0A and Current Time 0x2A2B.

Meters keep local wall time with no zone. A field of 0 means "not known" (year 0 is what most meters
report after a battery change), so `to_datetime()` is None rather than a made-up date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.ble import MalformedValue, Reader

DATE_TIME_LEN = 7
DAY_DATE_TIME_LEN = 8
CURRENT_TIME_LEN = 10
ADJUST_REASONS = (
    "manual_time_update",
    "external_reference_time_update",
    "change_of_time_zone",
    "change_of_dst",
)
DAYS = (None, "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DateTime:
    year: int  # 1582..9999, 0 = not known
    month: int  # 1..12, 0 = not known
    day: int  # 1..31, 0 = not known
    hours: int
    minutes: int
    seconds: int

    @property
    def is_unset(self) -> bool:
        return self.year == 0 or self.month == 0 or self.day == 0

    def to_datetime(self) -> datetime | None:
        """Naive local meter time, or None when the meter does not know the date."""
        if self.is_unset:
            return None
        return datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)

    def iso(self) -> str | None:
        dt = self.to_datetime()
        return None if dt is None else dt.isoformat()

    @classmethod
    def from_datetime(cls, dt: datetime) -> DateTime:
        return cls(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)

    def encode(self) -> bytes:
        return self.year.to_bytes(2, "little") + bytes(
            [self.month, self.day, self.hours, self.minutes, self.seconds]
        )


_LIMITS = (("month", 12), ("day", 31), ("hours", 23), ("minutes", 59), ("seconds", 59))


def read_date_time(r: Reader, field: str) -> DateTime:
    """Read 7 bytes at the reader's cursor, checking each sub-field's range."""
    start = r.pos
    year = r.u16(f"{field}.year")
    if year != 0 and not 1582 <= year <= 9999:
        raise r.error(f"{field}.year", f"{year} outside 1582..9999 (0 = unknown)", start)
    parts = [year]
    for i, (name, top) in enumerate(_LIMITS):
        value = r.u8(f"{field}.{name}")
        if value > top:
            raise r.error(f"{field}.{name}", f"{value} outside 0..{top}", start + 2 + i)
        parts.append(value)
    stamp = DateTime(*parts)
    if not stamp.is_unset:
        try:
            stamp.to_datetime()
        except ValueError as exc:  # e.g. 30 February
            raise r.error(field, f"not a calendar date: {exc}", start) from None
    return stamp


def decode_date_time(data: bytes) -> DateTime:
    r = Reader(data, "Date Time 0x2A08")
    stamp = read_date_time(r, "date_time")
    _no_trailing(r)
    return stamp


@dataclass(frozen=True)
class CurrentTime:
    date_time: DateTime
    day_of_week: int  # 1 = Monday .. 7 = Sunday, 0 = unknown
    fractions256: int | None = None  # None for Day Date Time
    adjust_reason: int | None = None

    def to_json(self) -> dict[str, object]:
        dt = self.date_time
        out: dict[str, object] = {
            "timestamp": dt.iso(),
            "year": dt.year,
            "month": dt.month,
            "day": dt.day,
            "hours": dt.hours,
            "minutes": dt.minutes,
            "seconds": dt.seconds,
            "day_of_week": DAYS[self.day_of_week] if self.day_of_week < len(DAYS) else None,
        }
        if self.fractions256 is not None:
            out["fractions256"] = self.fractions256
        if self.adjust_reason is not None:
            out["adjust_reason"] = {
                n: bool(self.adjust_reason & (1 << i)) for i, n in enumerate(ADJUST_REASONS)
            }
        return out


def decode_day_date_time(data: bytes) -> CurrentTime:
    r = Reader(data, "Day Date Time 0x2A0A")
    stamp = read_date_time(r, "date_time")
    dow = _day_of_week(r)
    _no_trailing(r)
    return CurrentTime(stamp, dow)


def decode_current_time(data: bytes) -> CurrentTime:
    r = Reader(data, "Current Time 0x2A2B")
    stamp = read_date_time(r, "exact_time_256.date_time")
    dow = _day_of_week(r)
    fractions = r.u8("exact_time_256.fractions256")
    reason = r.u8("adjust_reason")
    _no_trailing(r)
    return CurrentTime(stamp, dow, fractions, reason)


def decode_any_time(data: bytes) -> CurrentTime:
    """Pick the format by length: 7 Date Time, 8 Day Date Time, 10 Current Time (for `hub ble decode`)."""
    if len(data) == DATE_TIME_LEN:
        return CurrentTime(decode_date_time(data), 0)
    if len(data) == DAY_DATE_TIME_LEN:
        return decode_day_date_time(data)
    if len(data) == CURRENT_TIME_LEN:
        return decode_current_time(data)
    raise MalformedValue(
        "time",
        "length",
        0,
        f"{len(data)} bytes; expected 7 (Date Time 0x2A08), "
        "8 (Day Date Time 0x2A0A) or 10 (Current Time 0x2A2B)",
    )


def encode_current_time(dt: datetime, adjust_reason: int = 0x01) -> bytes:
    """What the hub writes to a meter: local wall time, fraction from microseconds, reason 'manual'."""
    return DateTime.from_datetime(dt).encode() + bytes(
        [dt.isoweekday(), dt.microsecond * 256 // 1_000_000, adjust_reason]
    )


def encode_date_time(dt: datetime) -> bytes:
    return DateTime.from_datetime(dt).encode()


def _day_of_week(r: Reader) -> int:
    dow = r.u8("day_of_week")
    if dow > 7:
        raise r.error("day_of_week", f"{dow} outside 0..7 (0 = unknown)", r.pos - 1)
    return dow


def _no_trailing(r: Reader) -> None:
    if r.pos != len(r.data):
        raise r.error("(end)", f"{len(r.data) - r.pos} unexpected trailing byte(s)")
