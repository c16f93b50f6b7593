"""Occupied pressure mats (bed, seat) as the detector tracks them: a mat is ON until the same mat goes
OFF (or REST_STALE_H passes), and while one is occupied every gap belongs to that rest, whatever else
fires meanwhile (hub/detect/inactivity/detector.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.detect.inactivity.kinds import source_kind

REST_STALE_H = 16.0  # a mat ON for longer than this is stuck or forgotten, not someone resting

Resting = dict[str, tuple[datetime, str]]  # occupied mats: sensor -> (since, source)


def note_rest(resting: Resting, ts: datetime, source: str) -> None:
    """Track occupied pressure mats: ON until the same mat goes OFF (or REST_STALE_H passes)."""
    sensor, _, state = source.rpartition(":")
    if source_kind(source) == "rest":
        resting[sensor] = (ts, source)
    elif state == "OFF":
        resting.pop(sensor, None)


def context_of(resting: Resting, ts: datetime, source: str) -> str:
    """While a mat is occupied the resident is resting whatever else fires (an appliance switching
    itself off, a flush counted late): the gap belongs to the rest, not to that event."""
    stale = ts - timedelta(hours=REST_STALE_H)
    occupied = [(since, src) for since, src in resting.values() if since >= stale]
    if not occupied or source_kind(source) == "rest":
        return source
    return max(occupied)[1]
