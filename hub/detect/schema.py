"""Config sections for local detection: [fall], [inactivity], and the door contacts and mats it reads."""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section, hhmm_problem

AXES = ("x", "-x", "y", "-y", "z", "-z")

FALL = Section("fall", "Fall detection: a worn accelerometer (BLE) and/or a mmWave fall radar (UART), "
                       "then a spoken countdown the resident can cancel with any button.", {
    "countdown_s": Key(30.0, "Seconds the resident has to press a button before alarm.fall is sent.",
                       min=1, max=300),
    "prompt_every_s": Key(6.0, "The question is repeated this often during the countdown, louder each time.",
                          min=1, max=60),
    "volume_start": Key(80, "espeak-ng amplitude of the first question (0-200).", min=0, max=200),
    "volume_end": Key(200, "Amplitude of the last question; the steps rise evenly between.", min=0, max=200),
    "threshold": Key(1.0, "Detector score above which a worn-sensor impact is a suspected fall; higher "
                          "means fewer false alarms and more missed falls (see docs/detection.md).",
                     min=-5.0, max=10.0),
    "trigger_g": Key(1.5, "Acceleration (g) that makes an impact candidate.", min=1.1, max=6.0),
    "decide_after_s": Key(10.0, "Seconds after the impact over which the post-fall phase is judged (lying "
                                "still, on a bed, getting up); the decision is made then.", min=4.0, max=30.0),
    "up_axis": Key("-y", "Wearable axis that points up when the resident stands (as clipped on).",
                   choices=AXES),
    "radar_port": Key("", "Serial device of the 60 GHz fall radar (MR60FDA1), e.g. /dev/ttyAMA0; '' = none."),
    "radar_baud": Key(115200, "Radar UART speed.", choices=(9600, 19200, 38400, 57600, 115200, 230400)),
    "wearable_address": Key("", "BLE address of the WitMotion wearable, e.g. C8:12:34:56:78:9A; '' = none."),
    "wearable_rate_hz": Key(50, "Output rate set on the wearable at connect (below 50 Hz misses impacts).",
                            choices=(50, 100, 200)),
})


INACTIVITY = Section("inactivity", "Unusual inactivity: learns how long the resident normally goes without "
                                   "any activity at each time of day; asks aloud, then alarm.inactivity "
                                   "(docs/detection.md, Inactivity).", {
    "enabled": Key(True, "Run the inactivity detector."),
    "check_wait_s": Key(600.0, "After asking '您还好吗？', wait this long for any press or movement "
                               "before alarm.inactivity.", min=30, max=3600),
    "recheck_after_s": Key(300.0, "Ask a second time, louder and after the chime, this long after the first "
                                  "question, within the same check_wait_s (the alarm is not delayed); "
                                  "0 = ask once. Must be below check_wait_s, else asked once.",
                           min=0, max=3600),
    "recheck_volume": Key(200, "Loudness of the second question, percent of [voice] level_db as [voice] "
                               "volume (200 = +6 dB, limited so it never clips).", min=0, max=200),
    "day_min_min": Key(60.0, "Shortest daytime limit (minutes), however regular the routine.",
                       min=10, max=600),
    "day_max_h": Key(10.0, "Longest daytime limit (hours), however long the learned gaps.", min=1, max=11.8),
    "night_min_h": Key(2.0, "Shortest limit for a gap starting in the night window (hours).",
                       min=0.5, max=11),
    "night_max_h": Key(11.5, "Longest limit for a night gap (hours); with check_wait_s this bounds every "
                             "detection.", min=2, max=11.8),
    "night_start": Key("22:00", "Night window start (HH:MM, local).", min=5, max=5, rule=hhmm_problem),
    "night_end": Key("07:00", "Night window end (HH:MM, local).", min=5, max=5, rule=hhmm_problem),
    "evening_h": Key(2.0, "Hours before night_start treated like the night (no source earns a short limit).",
                     min=0, max=6),
    "fallback_day_h": Key(6.0, "Daytime limit (hours) before learn_min_days of history exist: the longest "
                               "plausible sit or nap; learned limits start from it and narrow.",
                          min=1, max=11.8),
    "learn_min_days": Key(2.0, "Days of history before learned limits replace the fallback.",
                          min=0.5, max=28),
    "learn_days": Key(28, "Gaps older than this many days are forgotten.", min=3, max=120),
    "window_h": Key(2.0, "Gaps that started within this many hours of the same time of day count.",
                    min=0.5, max=6),
    "min_samples": Key(30, "Gaps needed within window_h of a time of day; fewer: the limit pools a wider window.",
                       min=5, max=1000),
    "risk": Key(0.01, "Accepted chance per gap of exceeding the learned normal longest gap (before margin).",
                min=0.0001, max=0.2),
    "prior_weight": Key(1.0, "How many of a source's own gaps weigh as much as the tail of all gaps then.",
                        min=0.1, max=50),
    "margin": Key(1.5, "Limit = learned longest gap x margin + margin_min.", min=1.0, max=5.0),
    "margin_min": Key(30.0, "Added to every learned limit (minutes).", min=0, max=240),
    "morning_anchor": Key("04:00", "Activity after this time (HH:MM) counts as getting up.", min=5, max=5,
                          rule=hhmm_problem),
    "morning_margin_min": Key(0.0, "Ask when nothing has happened by the latest usual getting-up time plus "
                                    "this (minutes).", min=0, max=360),
    "morning_min_days": Key(5, "Mornings to learn before the morning check starts.", min=2, max=60),
    "exit_group_s": Key(120.0, "Exit-door events closer than this form one pattern (open, close...).",
                        min=5, max=1800),
    "exit_settle_s": Key(5.0, "Activity this soon after an exit-door pattern does not mean someone is in.",
                         min=0, max=120),
    "return_window_min": Key(30.0, "Presumed out: two independent events inside within this many minutes "
                                   "mean home again (one stray event does not).", min=1, max=240),
    "return_apart_s": Key(30.0, "The same sensor twice counts as two independent events only this far "
                                "apart.", min=0, max=3600),
    "mat_hold_s": Key(90.0, "A bed/chair mat OFF shorter than this, with nothing else happening, is a "
                            "flicker: the rest goes on.", min=0, max=900),
    "settle_days": Key(14.0, "Learned limits start from the conservative start-up limits and narrow to "
                             "the learned ones over this many days of history.", min=0.5, max=120),
    "out_limit_h": Key(0.0, "Presumed out (exit door, then nothing) this long: ask, alarm once; 0 = never.",
                       min=0, max=168),
    "away_autoclear": Key(True, "Activity inside ends away mode (away_grace_min after it was set)."),
    "away_grace_min": Key(10.0, "Activity this soon after setting away is the resident leaving.",
                          min=0, max=240),
    "away_button_pin": Key(None, "GPIO of the away/home button: a long press toggles away mode. A call "
                                 "button's pin also works, but its press raises a call first.", kind=int,
                           optional=True, min=0, max=27, example=22),
    "away_hold_s": Key(2.0, "Long press that toggles away mode on a dedicated away button.", min=0.5, max=10),
    "tick_s": Key(15.0, "How often the detector looks at the clock.", min=0.05, max=300),
    "early_checks_per_day": Key(0.5, "Budget of early checks '您还好吗？' per day: the first, short threshold is "
                                     "learned so that a well resident is asked about this often; 0 = ask only "
                                     "at the full limit.", min=0, max=4),
    "checks_per_day_max": Key(0.5, "Ceiling on questions per day: while the checks asked over the last "
                                   "check_window_days reach this rate, early checks pause and a gap waits for its "
                                   "full limit (a resident asked too often stops answering); 0 = no ceiling.",
                              min=0, max=4),
    "check_window_days": Key(28.0, "Days over which checks_per_day_max is counted.", min=1, max=60),
    "early_margin": Key(1.0, "Early threshold = learned quantile x early_margin + early_margin_min.",
                        min=1.0, max=5.0),
    "early_margin_min": Key(15.0, "Added to the early threshold (minutes).", min=0, max=240),
    "early_day_min_min": Key(60.0, "Shortest early threshold by day (minutes).", min=10, max=600),
    "visitors": Key(True, "Evidence of a second person (motion in two rooms within seconds, motion while a mat "
                          "elsewhere is occupied, the exit door opened while the resident sits) pauses checks, "
                          "alarms and the fall radar until they leave."),
    "visitor_rooms_s": Key(5.0, "Motion in two different rooms within this many seconds: two people.",
                           min=1, max=60),
    "visitor_hold_min": Key(60.0, "A visitor has gone this long after the last evidence of two people (or at "
                                  "the next exit-door event).", min=5, max=480),
    "early_night_min_h": Key(3.0, "Shortest early threshold for a gap starting in the night window (hours).",
                             min=0.5, max=11),
})

SECTIONS: list[Section] = [FALL, INACTIVITY]


DOORS = Section("doors", "Door contacts (reed switch to ground, internal pull-up): one [[doors]] table per door; "
                         "the exit door tells the inactivity detector when the resident goes out. Also a "
                         "fridge or cupboard contact (kind), a sign of life inside. None fitted by default.", {
    "name": Key("front", "Short name, used in status, faults and `hub sim door --name`.", min=1, max=24),
    "pin": Key(26, "BCM GPIO of the contact; the other wire to ground.", min=0, max=27),
    "kind": Key("door", "What it is on: door | fridge | cupboard.", choices=("door", "fridge", "cupboard")),
    "exit": Key(False, "The home's exit door (out/in patterns); at most one."),
    "closed_when_shut": Key(True, "Reed switch closed while the door is shut (MC-38 type, usual); false for a "
                                  "normally-open switch."),
    "bounce_ms": Key(50, "Contact bounce filter (ms).", min=0, max=1000),
    "open_fault_h": Key(12.0, "Open this long: fault.sensor kind stuck (magnet fallen off, door left "
                              "open); 0 = never.", min=0, max=240),
    "silent_days": Key(7.0, "No change for this many days: fault.sensor kind silent (contact detached or "
                            "cable cut); 0 = never.", min=0, max=60),
}, many=True)

MATS = Section("mats", "Bed and chair pressure mats (switch mat to ground, internal pull-up): one [[mats]] "
                       "table per mat. Occupied mats tell the inactivity detector the resident is resting. "
                       "None fitted by default.", {
    "name": Key("bed", "Short name, used in status, faults and `hub sim mat --name`.", min=1, max=24),
    "pin": Key(20, "BCM GPIO of the mat; the other wire to ground.", min=0, max=27),
    "place": Key("bed", "bed | chair.", choices=("bed", "chair")),
    "closed_when_occupied": Key(True, "The mat's switch closes under weight (usual); false for the opposite."),
    "bounce_ms": Key(300, "Debounce (ms): shorter changes are ignored. Longer flickers OFF are absorbed by "
                          "[inactivity] mat_hold_s.", min=0, max=5000),
    "stuck_h": Key(16.0, "Occupied this long: fault.sensor kind stuck (something left on it, shorted "
                         "cable); 0 = never.", min=0, max=72),
    "silent_days": Key(3.0, "Not occupied for this many days: fault.sensor kind silent (mat moved or "
                            "unplugged); 0 = never.", min=0, max=60),
}, many=True)

CHECKIN = Section("checkin", "The daily check-in '报平安': in the window one short press on a call button says "
                             "'我很好' (no call; a second press calls); a missed check-in with no activity gets a "
                             "spoken question, then checkin.missed to the platform.", {
    "enabled": Key(False, "Offer the daily check-in."),
    "start": Key("08:00", "Window start (HH:MM, local).", min=5, max=5),
    "end": Key("10:00", "Window end (HH:MM, local); after it, a missed check-in is followed up.", min=5, max=5),
    "wait_s": Key(900.0, "After the spoken question, wait this long for a press or any activity before "
                         "checkin.missed.", min=60, max=7200),
    "pins": Key([], "Call buttons (BCM pins) whose press checks in; [] = every call button.", kind=list,
                example=[17]),
})

RULES = Section("inactivity_rules", "Rules a community sets for this home, on top of the learned limits; each "
                                    "asks '您还好吗？' first and raises alarm.inactivity (reason = the rule's kind) if "
                                    "unanswered. One [[inactivity_rules]] table per rule; none by default.", {
    "kind": Key("dwell", "dwell: too long in one room | not_up_by: no activity since the night by a time | "
                         "out_at_night: out and not back at a time.",
                choices=("dwell", "not_up_by", "out_at_night")),
    "place": Key("", "dwell: the room, as in the sensor names (e.g. bathroom for M-Bathroom-Basin or a door "
                     "contact named bathroom).", max=24),
    "day_max_min": Key(240.0, "dwell: longest stay (minutes) for a stay starting by day.", min=5, max=720),
    "night_max_min": Key(40.0, "dwell: longest stay (minutes) for a stay starting in the night window.",
                         min=5, max=720),
    "at": Key("09:00", "not_up_by: the time (HH:MM) by which the resident is up; out_at_night: the time "
                       "(HH:MM) by which they are back.", min=5, max=5, rule=hhmm_problem),
}, many=True)

SECTIONS.extend([DOORS, MATS, CHECKIN, RULES])


def used_pins(cfg: dict[str, Any]) -> dict[int, str]:
    """GPIO pins of the door contacts and mats -> config key, for the duplicate-pin cross-check."""
    pins: dict[int, str] = {}
    for section in ("doors", "mats"):
        for i, item in enumerate(cfg[section]):
            pins.setdefault(item["pin"], f"{section}[{i}].pin")
    return pins


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    """Names unique, one exit door, no pin used twice among the contacts."""
    problems: list[tuple[str, str]] = []
    for section in ("doors", "mats"):
        names: set[str] = set()
        for i, item in enumerate(cfg[section]):
            if item["name"] in names:
                problems.append((f"{section}[{i}].name", f"{item['name']!r} is used twice; give each a name"))
            if not all(c.isalnum() or c in "_" for c in item["name"]):
                problems.append((f"{section}[{i}].name", f"{item['name']!r}: letters, digits and _ only"))
            names.add(item["name"])
    c = cfg["checkin"]
    for key in ("start", "end"):
        if hhmm_problem(c[key]):
            problems.append((f"checkin.{key}", hhmm_problem(c[key])))
    if not hhmm_problem(c["start"]) and not hhmm_problem(c["end"]) and c["start"] >= c["end"]:
        problems.append(("checkin.end", "must be later than checkin.start on the same day"))
    buttons = {b["pin"] for b in cfg["buttons"]}
    for pin in c["pins"]:
        if pin not in buttons:
            problems.append(("checkin.pins", f"{pin!r} is not a call button's pin; call buttons: {sorted(buttons)}"))
    for i, rule in enumerate(cfg["inactivity_rules"]):
        if rule["kind"] == "dwell" and not rule["place"]:
            problems.append((f"inactivity_rules[{i}].place", "a dwell rule needs the room: check place = "
                             "\"bathroom\" (the room word of the sensor names, e.g. M-Bathroom-Basin)"))
        if rule["kind"] == "out_at_night" and not any(d["exit"] for d in cfg["doors"]):
            problems.append((f"inactivity_rules[{i}].kind", "out_at_night needs the exit door contact: "
                             "check [[doors]] exit = true (docs/hardware.md)"))
    if sum(d["exit"] for d in cfg["doors"]) > 1:
        problems.append(("doors", "more than one door has exit = true; mark only the home's exit door"))
    seen: dict[int, str] = {}
    for section in ("doors", "mats"):
        for i, item in enumerate(cfg[section]):
            if item["pin"] in seen:
                problems.append((f"{section}[{i}].pin", f"GPIO{item['pin']} is already used by {seen[item['pin']]}"))
            seen[item["pin"]] = f"{section}[{i}].pin"
    return problems
