"""Hub-originated events and the platform envelope they travel in (docs/protocol.md)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

ENVELOPE_VERSION = 1


class Priority(IntEnum):
    """Delivery order: lower first. Only TELEMETRY may be evicted from a full queue."""

    URGENT = 0  # calls, alarms, faults, health alerts, power, system
    MEASUREMENT = 1
    TELEMETRY = 2


_BY_CATEGORY = {"measurement": Priority.MEASUREMENT, "telemetry": Priority.TELEMETRY}
# An answer to the platform's cmd/ping says only "I am here": it must never queue ahead of a call
# (2,000 pings once delayed a call 13 s on a slow link), so it travels as telemetry.
_BY_TYPE = {"system.pong": Priority.TELEMETRY}


def category_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def priority_of(event_type: str) -> Priority:
    return _BY_TYPE.get(event_type) or _BY_CATEGORY.get(category_of(event_type), Priority.URGENT)


def now_local() -> datetime:
    return datetime.now(UTC).astimezone()


def iso_ms(ts: datetime) -> str:
    """ISO 8601 with milliseconds and the UTC offset, as the platform contract asks."""
    if ts.tzinfo is None:
        raise ValueError("event time stamps must be timezone-aware")
    # Round to the nearest millisecond (isoformat alone truncates, which makes every event look up
    # to 1 ms older than it is).
    return (ts + timedelta(microseconds=500)).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    ts: datetime = field(default_factory=now_local)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def category(self) -> str:
        return category_of(self.type)

    @property
    def priority(self) -> Priority:
        return priority_of(self.type)

    def envelope(self, hub_id: str, seq: int) -> dict[str, Any]:
        return {"v": ENVELOPE_VERSION, "id": self.id, "hub": hub_id, "type": self.type,
                "ts": iso_ms(self.ts), "seq": seq, "data": self.data}

    def payload(self, hub_id: str, seq: int) -> str:
        return json.dumps(self.envelope(hub_id, seq), ensure_ascii=False, separators=(",", ":"))


def event_topic(topic_base: str, event_type: str) -> str:
    return f"{topic_base}/event/{category_of(event_type)}"
