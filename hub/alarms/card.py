"""The alarm context card: what a responder needs, added to every alarm event as `data.context`.

One collector for the whole hub. It hears every committed event (BP and glucose readings, fire
alarms, power changes) and every sign of life (`ctx.activity`), reads the live home status (room
temperature, smoke, mains), and when the alarm registry opens an alarm (hub.alarms.registry) the event
is enriched before it is committed:

    {"trigger": {"by": "fall", "detail": "wearable", "countdown": "timed_out", "waited_s": 30.0},
     "last_motion": {"source": "pir", "room": "客厅", "at": "..."},
     "bp": {"systolic": 152, "diastolic": 95, "pulse": 80, "grade": "grade_1", "at": "..."},
     "glucose": {"mmol_per_l": 5.6, "category": "normal", "at": "..."},
     "home": {"temperature_c": 23.4, "smoke": false, "fire_alarm": false},
     "power": {"mains": "ok", "battery": "ok"},
     "resident": {"reference": "R-0042", "address_ref": "B3-1202", "contacts_ref": "C-0042", "notes": ""}}

Only references from `[resident]` (docs/protocol.md "Alarm context card"): never a name or address.
The SMS short form of a card is hub.alarms.sms_form.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.core.activity import Activity
from hub.core.events import Event, iso_ms

# How each alarm's countdown (or question) ended, as the card says it.
ASKED, TIMED_OUT, NO_ANSWER, NONE = "asked_for_help", "timed_out", "no_answer", "none"
FALL_EVENTS = ("fall.cancelled", "fall.recovered", "alarm.fall")
RECENT_FALL_S = 1800.0  # a call within half an hour of a fall (even one she said was nothing) names it
ALARM_TYPES = ("call.raised", "alarm.fall", "alarm.inactivity", "alarm.fire", "alarm.heat", "alarm.cold",
               "health.alert", "power.lost", "power.battery_low", "alarm.gas", "alarm.co", "alarm.water")


def trigger(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The key or the detector behind an alarm, and how its countdown ended."""
    if event_type == "call.raised" and "trigger" in data:  # a wireless pendant or pull cord (hub.triggers)
        return {"by": "button", "detail": f"{data.get('kind')} wireless {data['trigger']} ({data.get('room')})",
                "countdown": ASKED, "waited_s": None}
    if event_type == "call.raised":
        where = f"GPIO{data.get('button')}" if data.get("device") is None else f"{data['device']} ({data.get('room')})"
        return {"by": "button", "detail": f"{data.get('kind')} button {where}", "countdown": ASKED, "waited_s": None}
    if event_type in ("alarm.gas", "alarm.co", "alarm.water"):  # hub.zigbee
        return {"by": "zigbee", "detail": f"{data.get('device')} {data.get('model')} ({data.get('room')})",
                "countdown": NONE, "waited_s": None}
    if event_type == "alarm.fall":
        return {"by": "fall", "detail": str(data.get("source")), "countdown": TIMED_OUT,
                "waited_s": data.get("waited_s")}
    if event_type == "alarm.inactivity":
        return {"by": "inactivity", "detail": str(data.get("reason")), "countdown": NO_ANSWER,
                "waited_s": data.get("check_wait_s")}
    if event_type == "alarm.fire":
        return {"by": "smoke", "detail": str(data.get("cause")), "countdown": NONE, "waited_s": None}
    if event_type in ("alarm.heat", "alarm.cold"):
        return {"by": "temperature", "detail": f"{data.get('temperature_c')} °C", "countdown": NONE,
                "waited_s": None}
    if event_type == "health.alert":
        return {"by": "meter", "detail": str(data.get("reason")), "countdown": NONE, "waited_s": None}
    return {"by": "power", "detail": event_type.split(".", 1)[1], "countdown": NONE, "waited_s": None}


def room_of(source: str, motion_room: str) -> str:
    """Where a sign of life came from: the PIR's room, a mat's place, a door's name, a button."""
    if source == "pir":
        return motion_room or "pir"
    name = source.split(":", 1)[0]
    if name.startswith(("X-", "D-", "P-")):  # hub.detect.contacts.inputs: X-door-front, P-bed-main
        return name[2:].replace("-", " ")
    return name.replace(":", " ")


class ContextCard:
    def __init__(self, config: Any, status: Callable[[], dict[str, Any]],
                 monotonic: Callable[[], float] | None = None) -> None:
        res, hub = config.get("resident") or {}, config["hub"]
        self.resident = {"reference": res.get("reference") or hub.get("resident_ref") or "",
                         "address_ref": res.get("address_ref", ""), "contacts_ref": res.get("contacts_ref", ""),
                         "notes": res.get("notes", "")}
        self.motion_room: str = res.get("motion_room", "")
        self._status = status  # the hub's live status: environment and mains (hub.home)
        self.last_motion: dict[str, Any] | None = None
        self.bp: dict[str, Any] | None = None
        self.glucose: dict[str, Any] | None = None
        self.fire_alarm = False
        self.mains: str | None = None
        self.battery: str | None = None
        self.fall: tuple[dict[str, Any], float] | None = None  # the last fall event and when (monotonic)
        self._monotonic = monotonic or time.monotonic  # the hub's clock (hub.core.clock), as every timer

    def attach(self, activity: Any, alarms: Any, on_event: Callable[[Callable[[Event], None]], None]) -> None:
        """Hear the activity stream and every committed event; enrich what the alarm registry opens."""
        activity.subscribe(self.on_activity)
        on_event(self.on_event)
        alarms.enrich = self.enrich

    # --- what the hub hears --------------------------------------------------------------------------
    def on_activity(self, activity: Activity) -> None:
        if activity.source.startswith(("ble:", "button:")):
            return  # a reading taken or a key pressed says nothing of the room the resident was last seen in
        self.last_motion = {"source": activity.source, "room": room_of(activity.source, self.motion_room),
                            "at": iso_ms(activity.ts)}

    def on_event(self, event: Event) -> None:
        d, at = event.data, iso_ms(event.ts)
        if event.type == "measurement.blood_pressure" and d.get("graded", True):
            pulse = None if "pulse" in d.get("implausible", ()) else d.get("pulse")  # a decoding fault
            self.bp = {"systolic": d.get("systolic"), "diastolic": d.get("diastolic"), "pulse": pulse,
                       "grade": d.get("grade"), "at": at}
        elif event.type == "measurement.glucose" and d.get("graded", True):
            self.glucose = {"mmol_per_l": d.get("mmol_per_l"), "category": d.get("category"), "at": at}
        elif event.type == "alarm.fire":
            self.fire_alarm = True
        elif event.type == "alarm.fire_cleared":
            self.fire_alarm = False
        elif event.type == "power.lost":
            self.mains = "lost"
        elif event.type == "power.restored":
            self.mains = "ok"
        elif event.type == "power.battery_low":
            self.battery = "low"
        elif event.type in FALL_EVENTS:
            self.fall = ({"type": event.type, "id": event.id, "at": at}, self._monotonic())

    def recent_fall(self) -> dict[str, Any] | None:
        """The last fall event of the last half hour, and how long before: a resident who answered "没事" to
        the fall question and pressed again, or called about her health after getting up, is calling about
        the fall, whatever button she pressed (the operator would otherwise see a health call alone)."""
        if self.fall is None:
            return None
        fall, when = self.fall
        ago = self._monotonic() - when
        return {**fall, "s_before": round(ago, 1)} if ago <= RECENT_FALL_S else None

    # --- what the alarm carries ----------------------------------------------------------------------
    def card(self, event_type: str, data: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
        status = self._status()
        env = status.get("environment") or {}
        mains = status.get("mains") or self.mains or "unknown"
        if event_type == "power.lost":
            mains = "lost"
        battery = "low" if event_type == "power.battery_low" else self.battery or "unknown"
        return {
            "trigger": trigger(event_type, data),
            "last_motion": self.last_motion,
            "bp": self.bp,
            "glucose": self.glucose,
            "home": {"temperature_c": env.get("temperature_c"), "smoke": bool(env.get("smoke", False)),
                     "fire_alarm": self.fire_alarm or event_type == "alarm.fire"},
            "power": {"mains": mains, "battery": battery},
            "resident": dict(self.resident),
            "recent_fall": self.recent_fall(),
        }

    def enrich(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """The alarm event's data with its card (hub.alarms.registry calls this as it opens an alarm)."""
        if event_type not in ALARM_TYPES or "context" in data:
            return data
        return {**data, "context": self.card(event_type, data)}
