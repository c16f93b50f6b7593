"""Door contacts and mats as inputs of the inactivity detector: their activity names and supervision.

Names follow the event-log convention the detector's rules were measured with
(`hub.detect.inactivity.kinds.source_kind`): `X-<kind>-<name>` the exit door, `D-<kind>-<name>` any
other door, fridge or cupboard, `P-<place>-<name>` a bed or chair mat; `:ON` when the door opens or
the mat is occupied, `:OFF` when it shuts or is left.

Supervision (pure, clock-injected): a contact can fail in two ways nobody sees. Stuck: a door open
for `open_fault_h` (magnet fallen off, door left open) or a mat occupied for `stuck_h` (something
left on it, a crushed cable) — faulted until it changes. Silent: no change for `silent_days` in a
lived-in home (contact detached, cable cut, mat moved aside) — faulted until it changes. Both are
reported as `fault.sensor` / `fault.cleared` with a remedy for the technician.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Kind = Literal["door", "mat"]


@dataclass
class Contact:
    kind: Kind
    name: str
    pin: int
    source: str  # activity name without the state, e.g. "X-door-front"
    stuck_s: float  # active this long: fault (0 = never)
    silent_s: float  # no change this long: fault (0 = never)
    exit: bool = False
    active: bool = False
    changed: datetime | None = None  # last change (or when supervision began)
    fault: str = ""  # "" | "stuck" | "silent"

    @property
    def part(self) -> str:
        what = {"door": "door contact", "mat": "pressure mat"}[self.kind]
        return f"{what} '{self.name}' GPIO{self.pin}" + (" (exit)" if self.exit else "")


def door(cfg: dict[str, Any]) -> Contact:
    prefix = "X" if cfg["exit"] else "D"
    return Contact("door", cfg["name"], cfg["pin"], f"{prefix}-{cfg['kind']}-{cfg['name']}",
                   cfg["open_fault_h"] * 3600, cfg["silent_days"] * 86400, exit=cfg["exit"])


def mat(cfg: dict[str, Any]) -> Contact:
    return Contact("mat", cfg["name"], cfg["pin"], f"P-{cfg['place']}-{cfg['name']}",
                   cfg["stuck_h"] * 3600, cfg["silent_days"] * 86400)


@dataclass(frozen=True)
class FaultChange:
    action: Literal["fault", "cleared"]
    contact: Contact
    kind: str
    detail: str


REMEDIES = {
    ("door", "stuck"): ("门磁一直显示开门：检查门是否关好、磁铁是否脱落或错位 ({where})",
                        "door contact reads open for hours: check the door is shut and the magnet is in place "
                        "within 10 mm of the switch ({where})"),
    ("door", "silent"): ("门磁多日无变化：检查门磁是否脱落、线是否断开 ({where})",
                         "door contact has not changed for days: check it is still fixed to the door and its "
                         "cable is intact ({where})"),
    ("mat", "stuck"): ("压力垫长时间显示有人：检查垫上是否压有物品、线缆是否被压坏 ({where})",
                       "pressure mat reads occupied for too long: check nothing is left on it and the cable "
                       "is not crushed ({where})"),
    ("mat", "silent"): ("压力垫多日无人：检查压力垫是否仍在床垫/坐垫下、插头是否松动 ({where})",
                        "pressure mat unused for days: check it is still under the mattress/cushion and "
                        "plugged in ({where})"),
}


def remedy(contact: Contact, kind: str) -> str:
    zh, en = REMEDIES[(contact.kind, kind)]
    return f"{zh} / {en}".format(where=f"GPIO{contact.pin}")


class Supervision:
    """Feeds on changes and the clock; returns faults and clearings, each once."""

    def __init__(self, contacts: list[Contact], now: datetime) -> None:
        self.contacts = contacts
        for c in contacts:
            c.changed = now

    def change(self, contact: Contact, active: bool, now: datetime) -> list[FaultChange]:
        contact.active, contact.changed = active, now
        if contact.fault and (contact.fault == "silent" or not active):
            kind, contact.fault = contact.fault, ""
            return [FaultChange("cleared", contact, kind, "")]
        return []

    def check(self, now: datetime) -> list[FaultChange]:
        out: list[FaultChange] = []
        for c in self.contacts:
            if c.fault or c.changed is None:
                continue
            held = (now - c.changed).total_seconds()
            if c.active and c.stuck_s and held >= c.stuck_s:
                c.fault = "stuck"
                state = "open" if c.kind == "door" else "occupied"
                out.append(FaultChange("fault", c, "stuck", f"{state} for {held / 3600:.1f} h"))
            elif c.silent_s and held >= c.silent_s:
                c.fault = "silent"
                out.append(FaultChange("fault", c, "silent", f"no change for {held / 86400:.1f} days"))
        return out
