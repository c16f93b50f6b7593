"""Date Time 0x2A08, Day Date Time 0x2A0A and Current Time 0x2A2B.

Meters keep local wall time with no zone. A field of 0 means "not known" (year 0 is what most meters
report after a battery change), so `to_datetime()` is None rather than a made-up date.

A field out of its range (minutes 99, 30 February, year 20) does not reject the value that carries it:
the Date Time ranges describe the clock, not the measurement, and meters with unset or drifting clocks
are common. Such a stamp keeps its raw fields, `problem` says what is wrong and `to_datetime()` is None,
so the reading is kept and placed at the hub's receive time. Reserved Day-of-Week values and trailing
bytes (later revisions append fields) are tolerated the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from drivers.ble import Reader

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
    problem: str | None = field(default=None, compare=False)  # why the fields are not a time

    @property
    def is_unset(self) -> bool:
        return self.year == 0 or self.month == 0 or self.day == 0

    @property
    def status(self) -> str:
        """ok | unset (the meter does not know the date) | invalid (a field out of its range)."""
        if self.problem is not None:
            return "invalid"
        return "unset" if self.is_unset else "ok"

    def to_datetime(self) -> datetime | None:
        """Naive local meter time, or None when the meter does not know the date or sent bad fields."""
        if self.status != "ok":
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


def read_date_time(r: Reader, name: str) -> DateTime:
    """Read 7 bytes at the reader's cursor. Raises only when bytes run out; a field out of its range
    gives a stamp whose `problem` names the field, the value and the byte."""
    start = r.pos
    year = r.u16(f"{name}.year")
    parts = [year, *(r.u8(f"{name}.{sub}") for sub, _top in _LIMITS)]
    problem = None
    if year != 0 and not 1582 <= year <= 9999:
        problem = f"{name}.year {year} outside 1582..9999 (0 = unknown) at byte {start}"
    for i, ((sub, top), value) in enumerate(zip(_LIMITS, parts[1:], strict=True)):
        if problem is None and value > top:
            problem = f"{name}.{sub} {value} outside 0..{top} at byte {start + 2 + i}"
    y, mo, d, h, mi, se = parts
    if problem is None and 0 not in (y, mo, d):
        try:
            datetime(y, mo, d, h, mi, se)
        except ValueError as exc:  # e.g. 30 February
            problem = f"{name} not a calendar date ({exc}) at byte {start}"
    return DateTime(y, mo, d, h, mi, se, problem=problem)


def decode_date_time(data: bytes) -> DateTime:
    return read_date_time(Reader(data, "Date Time 0x2A08"), "date_time")


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
            "day_of_week": DAYS[self.day_of_week]
            if self.day_of_week < len(DAYS)
            else f"reserved_{self.day_of_week}",
            "valid": dt.status == "ok",
            "problem": dt.problem,
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
    return CurrentTime(stamp, r.u8("day_of_week"))


def decode_current_time(data: bytes) -> CurrentTime:
    r = Reader(data, "Current Time 0x2A2B")
    stamp = read_date_time(r, "exact_time_256.date_time")
    dow = r.u8("day_of_week")  # 8..255 reserved: reported as such, the time is still read
    fractions = r.u8("exact_time_256.fractions256")
    return CurrentTime(stamp, dow, fractions, r.u8("adjust_reason"))


def encode_current_time(dt: datetime, adjust_reason: int = 0x01) -> bytes:
    """What the hub writes to a meter: local wall time, fraction from microseconds, reason 'manual'."""
    return DateTime.from_datetime(dt).encode() + bytes(
        [dt.isoweekday(), dt.microsecond * 256 // 1_000_000, adjust_reason]
    )


def encode_date_time(dt: datetime) -> bytes:
    return DateTime.from_datetime(dt).encode()
