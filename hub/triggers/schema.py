"""Config for wireless triggers: one [[triggers]] table per device (a BLE pendant, wrist button or pull cord:
address, bind key, room, what each press raises) and [supervision] (not heard, battery, weekly test)."""

from __future__ import annotations

import re
from typing import Any

from hub.config.keys import Key, Section, hhmm_problem, spoken_room

ACTIONS = ("emergency", "health", "service", "family", "cancel", "none")
MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _mac_problem(text: str) -> str:
    return "" if MAC.match(text.upper()) else f"{text!r} is not a Bluetooth address like A4:C1:38:12:34:56"


def _key_problem(text: str) -> str:
    if text == "":
        return ""
    return "" if re.fullmatch(r"[0-9a-fA-F]{32}", text) else "the bind key is 32 hex digits (16 bytes), or ''"


SUPERVISION = Section("supervision", "Wireless triggers ([[triggers]]: pendants, wrist buttons, pull cords) and every "
                               "device another integration reports as heard: supervision (EN 50134-2), low "
                               "battery, the weekly test (JGJ/T 484-2019).", {
    "supervision_h": Key(24.0, "A trigger not heard for this long is fault.trigger (never longer than 24 h).",
                         min=0.1, max=24),
    "battery_repeat_days": Key(7.0, "A low battery is reported and spoken again this often until changed.",
                               min=1, max=7),
    "battery_low_pct": Key(20, "Battery at or below this percentage is low (when a device reports a %).",
                           min=5, max=50),
    "day_start": Key("08:00", "Faults are spoken to the resident only from this time (HH:MM, local)...",
                     min=5, max=5, rule=hhmm_problem),
    "day_end": Key("20:00", "...until this time; at night they go to the platform only.", min=5, max=5,
                   rule=hhmm_problem),
    "test_day": Key("mon", "Day of the weekly test: the unit asks the resident to press each wearable once.",
                    choices=DAYS),
    "test_time": Key("10:00", "Time of the weekly test (HH:MM, local, inside the day window).", min=5, max=5,
                     rule=hhmm_problem),
    "test_wait_s": Key(300.0, "How long the weekly test waits for each press.", min=30, max=1800),
    "untested_days": Key(14.0, "A wearable not tested for this long is reported (fault.trigger untested).",
                         min=7, max=30),
    "cancel_window_s": Key(10.0, "A cancel press (action 'cancel') withdraws the device's call within this "
                                 "long of raising it.", min=0, max=60),
})

TRIGGERS = Section("triggers", "One [[triggers]] table per BLE trigger (BTHome v2, e.g. Shelly BLU Button1): "
                               "bound by address AND bind key; advertisements from any other device are "
                               "ignored. None by default.", {
    "id": Key("pendant", "Short name, in events (data.trigger), status and `hub sim pendant --id`.", min=1, max=24),
    "address": Key("A4:C1:38:00:00:01", "Bluetooth address (from `hub ble scan`).", min=17, max=17,
                   rule=_mac_problem),
    "key": Key("", "BTHome bind key, 32 hex digits (set in the device's app); '' only for a device that "
                   "cannot encrypt (then anyone nearby can press it: not for a pendant).", secret=True,
               rule=_key_problem),
    "room": Key("卧室", "Where it is or who wears it, in events (data.room) and spoken faults.", min=1, max=12,
                rule=spoken_room),
    "kind": Key("pendant", "pendant | wrist | pull_cord | button: pendants and wrist buttons are "
                           "'wearable' (the weekly test asks for them).",
                choices=("pendant", "wrist", "pull_cord", "button")),
    "press": Key("emergency", "What a single press raises.", choices=ACTIONS),
    "double": Key("emergency", "What a double press raises.", choices=ACTIONS),
    "long": Key("cancel", "What a long press does ('cancel': withdraws its own call in the cancel window).",
                choices=ACTIONS),
}, many=True)

SECTIONS: list[Section] = [SUPERVISION, TRIGGERS]


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    ids: set[str] = set()
    addresses: set[str] = set()
    for i, item in enumerate(cfg["triggers"]):
        if item["id"] in ids:
            problems.append((f"triggers[{i}].id", f"{item['id']!r} is used twice; give each trigger an id"))
        if not all(c.isalnum() or c in "_-" for c in item["id"]):
            problems.append((f"triggers[{i}].id", f"{item['id']!r}: letters, digits, - and _ only"))
        if item["address"].upper() in addresses:
            problems.append((f"triggers[{i}].address", f"{item['address']} is bound twice"))
        ids.add(item["id"])
        addresses.add(item["address"].upper())
    t = cfg["supervision"]
    if t["day_start"] >= t["day_end"]:
        problems.append(("supervision.day_end", "must be later than supervision.day_start"))
    if not t["day_start"] <= t["test_time"] < t["day_end"]:
        problems.append(("supervision.test_time", "the weekly test must be in the day window (day_start-day_end)"))
    return problems
