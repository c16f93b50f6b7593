"""Hub-originated events and the platform envelope they travel in (docs/protocol.md).

Everything the hub publishes is strict JSON (RFC 8259): `strict_json` never writes NaN or Infinity,
which Python's json writes by default and which break a platform's JSON parser (JavaScript's
JSON.parse, Go's encoding/json). A non-finite number becomes null, and the log names where it was
(once a minute per message type): the event still goes out, an alarm is never dropped for a bad
reading.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from hub.core.loglimit import PerCause

ENVELOPE_VERSION = 1
log = logging.getLogger(__name__)
_quiet = PerCause(log)


class Priority(IntEnum):
    """Delivery order: lower first. Only TELEMETRY may be evicted from a full queue."""

    URGENT = 0  # calls, alarms, faults, health alerts, power, system
    MEASUREMENT = 1
    TELEMETRY = 2


_BY_CATEGORY = {"measurement": Priority.MEASUREMENT, "telemetry": Priority.TELEMETRY,
                # A day's summary and a requested report matter, but never ahead of a call.
                "wellbeing": Priority.MEASUREMENT, "report": Priority.MEASUREMENT}
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
        return strict_json(self.envelope(hub_id, seq), self.type, separators=(",", ":"))


def strict_json(value: Any, what: str, **options: Any) -> str:
    """json.dumps(ensure_ascii=False) that never writes NaN/Infinity: each becomes null, logged with its
    path (`what` names the message, e.g. the event type or "status")."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, **options)
    except ValueError:
        pass
    found: list[str] = []
    clean = finite_only(value, "", found)
    _quiet.warning(f"nonfinite:{what}", "%s: non-finite numbers sent as null (not JSON): %s", what,
                   ", ".join(found[:10]))
    return json.dumps(clean, ensure_ascii=False, allow_nan=False, **options)


def finite_only(value: Any, path: str = "", found: list[str] | None = None) -> Any:
    """`value` with every NaN/Infinity float replaced by None; their paths appended to `found`."""
    if isinstance(value, float) and not math.isfinite(value):
        if found is not None:
            found.append(f"{path or '.'}={value}")
        return None
    if isinstance(value, dict):
        return {k: finite_only(v, f"{path}.{k}", found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_only(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def event_topic(topic_base: str, event_type: str) -> str:
    return f"{topic_base}/event/{category_of(event_type)}"
