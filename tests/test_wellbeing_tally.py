"""The day counted (hub.wellbeing.tally), compared with her norm (norm), kept on the card (history)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.wellbeing.history import History, read_days
from hub.wellbeing.norm import findings, percentile
from hub.wellbeing.rooms import Rooms, state_of
from hub.wellbeing.tally import DayTally

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, 6, 0, tzinfo=SH)


def tally() -> DayTally:
    return DayTally(DAY, DAY + timedelta(days=1), time(23, 0), time(5, 30))


def at(hhmm: str, next_day: bool = False) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(DAY.date() + timedelta(days=int(next_day)), time(h, m), SH)


@pytest.mark.parametrize(("source", "room", "state"), [
    ("F-Bathroom-Toilet:ON", "bathroom", "ON"),
    ("F-ToiletFlush:ON", "bathroom", "ON"),
    ("D-Hall-Toiletdoor:OFF", "bathroom", "OFF"),
    ("M-Bathroom-Basin:ON", "bathroom", "ON"),
    ("D-Fridge:ON", "kitchen", "ON"),
    ("E-Kitchen-Toaster:ON", "kitchen", "ON"),
    ("P-Bedroom-Bed:OFF", "bed", "OFF"),
    ("P-bed-bed:ON", "bed", "ON"),
    ("P-Living-Seat:ON", "other", "ON"),
    ("D-Hall-Bedroomdoor:OFF", "other", "OFF"),  # a door, not the bed: closing it is not getting up
    ("X-Entrance-Maindoor:ON", "exit", "ON"),
    ("X-door-front:OFF", "exit", "OFF"),
    ("pir", "other", ""),
    ("button:17", "other", ""),
    ("ble:bp", "other", ""),
    ("radar", "other", ""),
])
def test_rooms_and_states_from_source_names(source: str, room: str, state: str) -> None:
    assert Rooms().of(source) == room
    assert state_of(source) == state


def test_installer_words_extend_the_rooms() -> None:
    rooms = Rooms.from_config({"bathroom_words": ["洗手间"], "kitchen_words": ["灶台"]})
    assert rooms.of("M-洗手间-1:ON") == "bathroom"
    assert rooms.of("M-灶台:ON") == "kitchen"
    assert Rooms().of("M-洗手间-1:ON") == "other"


def test_a_day_counted() -> None:
    t = tally()
    for hhmm, source in [("06:40", "P-Bedroom-Bed:OFF"), ("06:45", "F-Bathroom-Toilet:ON"),
                         ("06:50", "M-Bathroom-Basin:ON"),  # same visit: within 10 min
                         ("07:30", "D-Kitchen-Fridge:ON"), ("07:35", "E-Kitchen-Toaster:ON"),  # one kitchen episode
                         ("12:00", "D-Kitchen-Fridge:ON"),
                         ("14:00", "X-Entrance-Maindoor:ON"), ("14:00", "X-Entrance-Maindoor:OFF"),
                         ("16:30", "X-Entrance-Maindoor:ON"),  # out 2.5 h: door - nothing - door
                         ("16:31", "X-Entrance-Maindoor:OFF"),
                         ("22:30", "X-Entrance-Maindoor:ON"),  # locked the door ...
                         ("22:35", "P-Bedroom-Bed:ON")]:  # ... then bed: not out
        t.note(at(hhmm), source)
    for hhmm, source in [("02:10", "P-Bedroom-Bed:OFF"), ("02:12", "F-Bathroom-Toilet:ON"),
                         ("02:20", "P-Bedroom-Bed:ON"),  # back to bed: the same night episode
                         ("04:00", "F-Bathroom-Toilet:ON")]:
        t.note(at(hhmm, next_day=True), source)
    t.note(at("06:01", next_day=True), "pir")  # the next day's: not counted here
    day = t.summary()
    assert day["date"] == "2026-03-02"
    assert day["first_activity"] == "06:40"
    assert day["settled_at"] == "22:35"  # in bed; the longest quiet (to 02:10) began then
    assert day["out_min"] == 150
    assert day["night_up"] == 2
    assert day["night_bathroom"] == 2
    assert day["bathroom_visits"] == 3
    assert day["kitchen"] == 2
    assert day["hourly"][6] == 3 and day["hourly"][2] == 3 and day["hourly"][16] == 1
    assert sum(day["hourly"]) == day["activity"]
    assert day["partial"] is False


def test_settled_at_is_the_start_of_the_nights_longest_quiet() -> None:
    t = tally()
    for hhmm in ("08:00", "19:00", "21:50"):
        t.note(at(hhmm), "pir")
    t.note(at("05:50", next_day=True), "pir")
    assert t.summary()["settled_at"] == "21:50"


def test_hub_events_counted_and_readings_kept() -> None:
    t = tally()
    for event_type in ("alarm.fall", "alarm.fire_cleared", "alarm.acknowledged", "call.raised", "checkin.ok",
                       "fall.recovered", "notice.confirmed", "reminder.missed"):
        t.event(event_type, {}, at("10:00"))
    t.event("measurement.blood_pressure", {"systolic": 152, "diastolic": 94, "pulse": 70, "grade": "grade_1"},
            at("08:10"))
    t.event("measurement.glucose", {"mmol_per_l": 6.2, "meal": "fasting", "category": "normal"}, at("07:00"))
    t.event("alarm.fall", {}, at("05:00"))  # before the day: not counted
    day = t.summary()
    assert (day["alarms"], day["calls"], day["checkins_answered"], day["falls_recovered"],
            day["notices_confirmed"], day["reminders_missed"]) == (1, 1, 1, 1, 1, 1)
    assert day["readings"] == [
        {"kind": "bp", "time": "08:10", "systolic": 152, "diastolic": 94, "pulse": 70, "grade": "grade_1"},
        {"kind": "glucose", "time": "07:00", "mmol_per_l": 6.2, "meal": "fasting", "grade": "normal"}]


def usual_days(n: int = 14, **figures: int) -> list[dict[str, object]]:
    base = {"night_bathroom": 1, "night_up": 1, "bathroom_visits": 6, "kitchen": 4, "activity": 120,
            "first_activity": "07:00", "out_min": 60}
    days = []
    for i in range(n):
        d = {**base, **figures, "date": f"2026-02-{i + 1:02d}", "partial": False}
        d["night_bathroom"] = 1 + i % 2  # 1-2 a night
        days.append(d)
    return days


def test_findings_name_the_change_in_plain_words() -> None:
    history = usual_days()
    day = {**history[0], "date": "2026-03-01", "night_bathroom": 5, "first_activity": "09:30", "kitchen": 0}
    found = {f["figure"]: f for f in findings(day, history)}
    assert found["night_bathroom"]["zh"] == "夜间如厕 5 次，平时 1–2 次"
    assert found["night_bathroom"]["en"] == "Night toilet visits: 5, usually 1-2"
    assert found["first_activity"]["zh"] == "起床时间 09:30，平时 07:00"
    assert found["kitchen"]["direction"] == "less"
    assert set(found) == {"night_bathroom", "first_activity", "kitchen"}


@pytest.mark.parametrize(("figure", "value", "found"), [
    ("night_bathroom", 4, False),  # usual top 2 + max(2, 2) = 4: not yet
    ("night_bathroom", 5, True),
    ("first_activity", "07:59", False),
    ("first_activity", "08:01", True),
    ("first_activity", "05:59", True),
    ("out_min", 180, False),
    ("out_min", 181, True),
])
def test_how_far_is_far(figure: str, value: object, found: bool) -> None:
    history = usual_days()
    day = {**history[0], "date": "2026-03-01", figure: value}
    assert any(f["figure"] == figure for f in findings(day, history)) is found


def test_no_norm_no_findings_and_partial_days_stay_out() -> None:
    day = {**usual_days(1)[0], "date": "2026-03-01", "night_bathroom": 9}
    assert findings(day, usual_days(6)) == []  # a new unit has no norm yet
    partial = [{**d, "partial": True} for d in usual_days(14)]
    assert findings(day, partial) == []
    assert findings({**day, "partial": True}, usual_days(14)) == []


def test_percentile_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4], 25) == 1
    assert percentile([1, 2, 3, 4], 75) == 3
    assert percentile([5], 50) == 5


def test_history_appends_and_survives_a_torn_last_line(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.load()
    for i in range(3):
        h.append({"date": f"2026-03-0{i + 1}", "activity": i})
    with h.path.open("ab") as fh:  # a power cut in the middle of the fourth day's line
        fh.write(b'{"date":"2026-03-04","activ')
    assert [d["date"] for d in read_days(h.path)] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    h2 = History(tmp_path)
    assert len(h2.load()) == 3
    h2.append({"date": "2026-03-04", "activity": 9})  # the torn bytes are passed over, not glued on
    assert [d["date"] for d in read_days(h.path)] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


def test_history_same_day_again_replaces_and_old_days_are_dropped(tmp_path: Path) -> None:
    h = History(tmp_path)
    h.append({"date": "2026-03-01", "activity": 1})
    h.append({"date": "2026-03-01", "activity": 2})
    assert read_days(h.path) == [{"date": "2026-03-01", "activity": 2}]
    assert len(h.path.read_text().splitlines()) == 1
    start = datetime(2026, 1, 1)
    for i in range(130):
        h.append({"date": (start + timedelta(days=i)).date().isoformat()})
    lines = h.path.read_text().splitlines()
    assert len(lines) <= 124
    assert json.loads(lines[-1])["date"] == (start + timedelta(days=129)).date().isoformat()
