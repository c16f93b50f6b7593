"""What waits to be said: a platform notice or a reminder's due time, as one `Item` the board orders by
priority; day hours and quiet windows; the reminders' due times from [[reminders]]. Pure: no I/O."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from hub.notices.command import Notice
from hub.notices.schema import DAYS

REMINDER_RANK = 1  # between a critical notice (0) and an info one (2), as an "action" notice
PROMPTS = {"critical": "notice_critical", "action": "notice_action", "info": "notice_info"}
REMINDER_PROMPTS = {"medication": "reminder_medication", "measure_bp": "reminder_measure_bp",
                    "measure_glucose": "reminder_measure_glucose"}
READINGS = {"measurement.blood_pressure": "measure_bp", "measurement.glucose": "measure_glucose"}
_seq = itertools.count()


def minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


def within(window: tuple[int, int], local: datetime) -> bool:
    """Is the local time inside [start, end) minutes of the day (a window may run past midnight)?"""
    start, end = window
    m = local.hour * 60 + local.minute
    return start <= m < end if start < end else m >= start or m < end


def window_end(window: tuple[int, int], local: datetime) -> datetime:
    """When the window that holds `local` ends."""
    end = local.replace(hour=window[1] // 60, minute=window[1] % 60, second=0, microsecond=0)
    return end if end > local else end + timedelta(days=1)


@dataclass
class Item:
    ref: str  # "notice:ID" or "reminder:RID@YYYY-MM-DDTHH:MM": what the speech record names
    rank: int
    prompt: str
    fields: dict[str, Any]
    confirm: bool
    due: datetime  # said no earlier
    until: datetime  # expires (a notice) or the window closes (a reminder)
    repeat_s: float | None
    max_plays: int
    quiet: tuple[int, int] | None = None  # minutes of the day it is not said in
    during_alarms: bool = False  # a critical notice is said while an alarm is open (after its speech)
    plays: int = 0
    heard: int = 0  # of them, really played (a unit without a speaker tries, but nobody heard it)
    heard_mono: float | None = None  # when it was last heard to its end (loop clock)
    notice: Notice | None = None
    reminder: dict[str, Any] | None = None  # the [[reminders]] entry
    due_at: datetime | None = None  # a reminder's due time
    held: bool = False  # waited for an alarm at least once
    seq: int = field(default_factory=lambda: next(_seq))

    @property
    def kind(self) -> str:
        return "notice" if self.notice is not None else "reminder"

    def playable(self, now: datetime, zone: tzinfo) -> bool:
        return self.due <= now < self.until and self.plays < self.max_plays and not (
            self.quiet is not None and within(self.quiet, now.astimezone(zone)))

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ref": self.ref, "plays": self.plays, "confirm": self.confirm,
                               "next": self.due.isoformat(timespec="seconds") if self.plays < self.max_plays else None,
                               "until": self.until.isoformat(timespec="seconds")}
        if self.notice is not None:
            out["priority"] = self.notice.priority
        if self.reminder is not None:
            out["kind"] = self.reminder["kind"]
        return out


def notice_item(n: Notice, now: datetime, day: tuple[int, int], max_repeats: int, recording: str | None) -> Item:
    prompt, fields = ("notice_recording", {"recording": recording}) if recording is not None else (
        PROMPTS[n.priority], {"text": n.text or ""})
    quiet = (minutes(n.quiet_hours[:5]), minutes(n.quiet_hours[6:])) if n.quiet_hours else (
        (day[1], day[0]) if n.priority == "info" else None)  # info: only in the resident's day hours
    return Item(f"notice:{n.id}", n.rank, prompt, fields, n.confirm, now, n.expires, n.repeat_s,
                max_repeats if n.repeat_s else 1, quiet, n.priority == "critical", notice=n)


def due_reminders(entries: list[dict[str, Any]], now: datetime, zone: tzinfo) -> list[tuple[dict[str, Any], datetime]]:
    """The (entry, due time) whose window holds `now` (yesterday's late ones included)."""
    local = now.astimezone(zone)
    out = []
    for entry in entries:
        for back in (1, 0):
            day = (local - timedelta(days=back)).date()
            if entry["days"] and DAYS[day.weekday()] not in entry["days"]:
                continue
            for hhmm in entry["times"]:
                m = minutes(hhmm)
                due = datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=zone)
                if due <= now < due + timedelta(minutes=entry["window_min"]):
                    out.append((entry, due))
    return out


def reminder_item(entry: dict[str, Any], due: datetime) -> Item:
    ref = f"reminder:{entry['id']}@{due.strftime('%Y-%m-%dT%H:%M')}"
    return Item(ref, REMINDER_RANK, entry["text"] or REMINDER_PROMPTS[entry["kind"]], {}, True, due,
                due + timedelta(minutes=entry["window_min"]), entry["repeat_min"] * 60.0, entry["repeat_max"],
                reminder=entry, due_at=due)


def reminder_data(item: Item, **extra: Any) -> dict[str, Any]:
    """reminder.confirmed / reminder.missed data."""
    assert item.reminder is not None and item.due_at is not None
    return {"reminder_id": item.reminder["id"], "kind": item.reminder["kind"],
            "due": item.due_at.isoformat(timespec="seconds"), "said": item.plays, **extra}


def wake_in(items: list[Item], now: datetime, zone: tzinfo, most: float) -> float:
    """Seconds until something may change: an item falls due, expires, or its quiet window ends."""
    local = now.astimezone(zone)
    times = [i.due for i in items if i.due > now] + [i.until for i in items]
    times += [window_end(i.quiet, local) for i in items if i.quiet is not None and within(i.quiet, local)]
    soonest = min(((t - now).total_seconds() for t in times), default=most)
    return min(most, max(0.2, soonest))
