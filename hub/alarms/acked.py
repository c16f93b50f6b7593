"""The alarms acknowledged lately, for the hub's status (`acknowledged_lately`).

An acknowledged call is closed and leaves `open_alarms` at once, so a second operator (or the same one
pressing Enter twice) who acks it again found nothing and was told it was "not an open alarm", as if the
id were wrong. With this list the console tells them "已确认 already acknowledged (at 09:01, by 王芳)".
It holds the last KEPT acks of this run, seeded at start from the closes the alarm store keeps
(hub.alarms.store, CLOSED_KEPT_S): an ack older than that, before a restart, is no longer known.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from hub.alarms.store import OpenAlarm
from hub.core.events import iso_ms

KEPT = 10  # a few acks of a busy morning; the retained status stays small


class AckedLately:
    def __init__(self) -> None:
        self._acks: deque[dict[str, Any]] = deque(maxlen=KEPT)

    def note(self, alarm: OpenAlarm, at: datetime) -> None:
        """`alarm` (as it was when acknowledged, `by` set) was acknowledged at `at`."""
        record: dict[str, Any] = {"alarm_id": alarm.id, "type": alarm.type, "at": iso_ms(at), "by": alarm.by,
                                  **({"also": list(alarm.aliases)} if alarm.aliases else {})}
        for key in ("kind", "button", "device", "trigger", "room"):
            if key in alarm.facts:
                record[key] = alarm.facts[key]
        self._acks = deque((r for r in self._acks if r["alarm_id"] != alarm.id), maxlen=KEPT)
        self._acks.append(record)

    def restore(self, closed: list[tuple[OpenAlarm, float]]) -> None:
        """At start: the closed alarms the store kept (alarm, wall-clock seconds it closed). Only those an
        operator acknowledged (`by` set), not the calls the resident cancelled; not a fire or a power cut
        either, which closed when its condition cleared, later than its ack."""
        for alarm, at in sorted(closed, key=lambda c: c[1]):
            if alarm.by is not None and not alarm.lasting:
                self.note(alarm, datetime.fromtimestamp(at, UTC))

    def listing(self) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(self._acks))
