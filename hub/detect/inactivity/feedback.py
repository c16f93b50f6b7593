"""Learning from the operator (`cmd/feedback`, docs/protocol.md "Inactivity feedback").

The platform marks an inactivity alarm `false_alarm` or `confirmed`, or reports a `missed`
incapacitation (an alarm that should have come). Each verdict is stored with the detector's features
around the event (gap, limit, learned normal, reason, last source, hour) and moves this home's limits
by a bounded factor: a false alarm lengthens them (x`STEP_UP`), a miss shortens them (x`STEP_DOWN`),
a confirmation changes nothing; the product is kept within [`SCALE_MIN`, `SCALE_MAX`]. Every change is
logged; `cmd/feedback_revert {feedback_id}` takes one back (the scale is recomputed from what is
left), and the stored list is what `hub eval` needs to replay them. Pure: no clock, no I/O.

Hostile input: the command topic is the hub's own, but a body can still be replayed, name an alarm
this hub never raised, name another hub, come twice, or be oversized; each is refused with a reason
(the caller logs it) and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

VERDICTS = ("false_alarm", "confirmed", "missed")
STEP_UP, STEP_DOWN = 1.15, 0.9
SCALE_MIN, SCALE_MAX = 0.7, 1.5
MAX_ENTRIES = 200  # kept verdicts (oldest dropped first); alarms remembered for feedback
ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_NOTE = 500


REASONS = ("malformed", "other_hub", "replayed", "unknown_alarm", "already_judged", "not_applied")


class FeedbackError(ValueError):
    """A feedback body refused: the message says why (for the log and the platform's operators), `reason`
    is one of REASONS (for the platform's code, in `feedback.refused`)."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class FeedbackBook:
    hub_id: str
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # alarm id -> features at the alarm
    entries: list[dict[str, Any]] = field(default_factory=list)  # accepted verdicts, oldest first
    reverted: list[str] = field(default_factory=list)  # ids taken back: a replay of one stays refused

    def record_alarm(self, alarm_id: str, features: dict[str, Any]) -> None:
        self.alarms[alarm_id] = dict(features)
        while len(self.alarms) > MAX_ENTRIES:
            self.alarms.pop(next(iter(self.alarms)))

    @property
    def scale(self) -> float:
        """What this home's limits are multiplied by (1.0: no feedback)."""
        value = 1.0
        for e in self.entries:
            value = min(SCALE_MAX, max(SCALE_MIN, value * e["factor"]))
        return round(value, 4)

    def apply(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Check and store one verdict; returns the stored entry (with `scale` after it)."""
        fid = _id(body, "feedback_id")
        if "hub" in body and body["hub"] != self.hub_id:
            raise FeedbackError(f"feedback {fid} names hub {str(body['hub'])[:64]!r}, this is {self.hub_id!r}",
                                "other_hub")
        if any(e["feedback_id"] == fid for e in self.entries) or fid in self.reverted:
            raise FeedbackError(f"feedback {fid} already applied (replayed)", "replayed")
        verdict = body.get("verdict")
        if verdict not in VERDICTS:
            raise FeedbackError(f"feedback {fid}: verdict must be one of {', '.join(VERDICTS)}")
        note = body.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise FeedbackError(f"feedback {fid}: note must be a string of at most {MAX_NOTE} characters")
        entry: dict[str, Any] = {"feedback_id": fid, "verdict": verdict, "received": now.isoformat(), "note": note}
        if verdict == "missed":
            at = body.get("at")
            try:
                when = datetime.fromisoformat(at) if isinstance(at, str) else None
            except ValueError:
                when = None
            if when is None or when.tzinfo is None or when > now:
                raise FeedbackError(f"feedback {fid}: a missed report needs 'at', a past ISO time with a zone")
            entry.update(at=when.isoformat(), alarm_id=body.get("alarm_id") if "alarm_id" in body else None,
                         features=None, factor=STEP_DOWN)
        else:
            alarm_id = _id(body, "alarm_id")
            if alarm_id not in self.alarms:
                raise FeedbackError(f"feedback {fid}: alarm {alarm_id} is not an inactivity alarm of this hub",
                                    "unknown_alarm")
            if any(e.get("alarm_id") == alarm_id for e in self.entries):
                raise FeedbackError(f"feedback {fid}: alarm {alarm_id} already has a verdict", "already_judged")
            entry.update(alarm_id=alarm_id, features=self.alarms[alarm_id],
                         factor=STEP_UP if verdict == "false_alarm" else 1.0)
        self.entries.append(entry)
        del self.entries[:-MAX_ENTRIES]
        return {**entry, "scale": self.scale}

    def revert(self, body: dict[str, Any]) -> dict[str, Any]:
        """Take one verdict back: `{feedback_id}`. Returns the removed entry (with `scale` after it)."""
        fid = _id(body, "feedback_id")
        for i, e in enumerate(self.entries):
            if e["feedback_id"] == fid:
                del self.entries[i]
                self.reverted = [*self.reverted, fid][-MAX_ENTRIES:]
                return {**e, "scale": self.scale}
        raise FeedbackError(f"feedback {fid} is not applied here; nothing to revert", "not_applied")

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "alarms": self.alarms, "entries": self.entries, "reverted": self.reverted}

    def load(self, data: dict[str, Any]) -> None:
        if data.get("version") != 1:
            raise ValueError(f"unknown feedback version {data.get('version')!r}")
        self.alarms = {str(k): dict(v) for k, v in dict(data.get("alarms", {})).items()}
        self.reverted = [str(x) for x in data.get("reverted", [])]
        self.entries = [dict(e) for e in data.get("entries", []) if isinstance(e, dict)
                        and isinstance(e.get("factor"), int | float) and SCALE_MIN <= e["factor"] <= SCALE_MAX]


def _id(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not ID_RE.match(value):
        raise FeedbackError(f"{key} must be 1-64 characters of A-Z a-z 0-9 . _ : -, got {str(value)[:80]!r}")
    return value
