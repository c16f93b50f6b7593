"""The plausibility gate: a decoded value outside what a living person (or the meter) can show is a
decoding or meter fault, not a reading to grade. Such a value is still published, flagged, and left
out of grading, alerts and the 7-day history; the log line names the meter, the field and the bytes.

Ranges (docs/health.md): systolic 40-300 mmHg, diastolic 20-200 mmHg, mean arterial pressure 30-250 mmHg,
pulse 25-250 /min (wider than any cuff's display range), glucose 0.6-35 mmol/L (the display range of home
meters, with margin), blood ketone 0-8 mmol/L (the range of home ketone strips). Every field of a reading
goes through the gate, never only the headline value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

RANGES: dict[str, tuple[float, float]] = {
    "systolic": (40.0, 300.0),
    "diastolic": (20.0, 200.0),
    "pulse": (25.0, 250.0),
    "mean_arterial": (30.0, 250.0),
    "mmol_per_l": (0.6, 35.0),
    "ketone_mmol_per_l": (0.0, 8.0),
}


def implausible_fields(values: Mapping[str, float | None]) -> tuple[str, ...]:
    """Names of the present values outside their range (absent values are not judged)."""
    out = []
    for name, value in values.items():
        lo, hi = RANGES[name]
        if value is not None and not lo <= value <= hi:
            out.append(name)
    return tuple(out)


def log_implausible(
    log: logging.Logger, meter: str, fields: tuple[str, ...], values: Mapping[str, float | None], raw: bytes
) -> None:
    for name in fields:
        lo, hi = RANGES[name]
        log.warning(
            "仪器读数不合理，不作评级 implausible value from meter %s: %s = %s outside %g..%g "
            "(value %s); published flagged, not graded",
            meter,
            name,
            values[name],
            lo,
            hi,
            raw.hex(),
        )
