"""25 days of a real home (van Kasteren house A, ../shared/data/activity) through the wellbeing component
in virtual time: each daily summary checked against the recording itself, the findings against the
home's own norm, and a week of extra night-time toilet visits found on the nights they were added."""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from support import SHARED_DATA
from wellbeing_replay import replay, wellbeing_config

from hub.detect.evaluation.inactivity import LogEvent, load_log
from hub.wellbeing.norm import percentile
from hub.wellbeing.rooms import Rooms
from sensors.meters.store import MeterStore

DATA = SHARED_DATA / "activity" / "kasteren_a.events"

if not DATA.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{DATA} is missing: CI runs with ../shared beside the clone")
    pytest.skip(f"development data not here: {DATA}", allow_module_level=True)

DAY_START = time(6, 0)
NIGHT = (time(23, 0), time(5, 30))


@pytest.fixture(scope="module")
def recording() -> list[LogEvent]:
    return load_log(DATA)


def windows(events: list[LogEvent]) -> list[tuple[datetime, datetime]]:
    first = datetime.combine(events[0].ts.date(), DAY_START, UTC)
    if events[0].ts < first:
        first -= timedelta(days=1)
    out = []
    while first + timedelta(days=1) <= events[-1].ts:
        out.append((first, first + timedelta(days=1)))
        first += timedelta(days=1)
    return out


def run(tmp: Path, events: list[LogEvent]) -> list[dict[str, Any]]:
    spans = windows(events)
    start, until = spans[0][0], spans[-1][1] + timedelta(minutes=1)
    config = wellbeing_config(tmp / "state")
    ctx = replay(config, start, [(e.ts, e.source) for e in events if e.ts < spans[-1][1]], until)
    return [e.data for e in ctx.events if e.type == "wellbeing.daily"]


def in_night(ts: datetime) -> bool:
    t = ts.time()
    return t >= NIGHT[0] or t < NIGHT[1]


@pytest.mark.slow
def test_every_day_of_the_recording_summed_up_as_it_happened(tmp_path: Path, recording: list[LogEvent]) -> None:
    days = run(tmp_path, recording)
    spans = windows(recording)
    assert [d["date"] for d in days] == [s.date().isoformat() for s, _e in spans]
    assert len(days) >= 24
    rooms = Rooms()
    for day, (start, end) in zip(days, spans, strict=True):
        raw = [e for e in recording if start <= e.ts < end]
        ons = [e for e in raw if e.state == "ON"]  # this home has no bed mat: every start is an ON
        assert day["partial"] is False
        assert day["activity"] == len(ons), day["date"]
        assert day["first_activity"] == (raw[0].ts.strftime("%H:%M") if raw else None)
        for hour in range(24):
            assert day["hourly"][hour] == sum(1 for e in ons if e.ts.hour == hour)
        night_bathroom_ons = [e for e in ons if in_night(e.ts) and rooms.of(e.source) == "bathroom"]
        flushes = [e for e in night_bathroom_ons if e.sensor.startswith("F-")]
        # Visits: at least one per night flush group, never more than the bathroom signs themselves.
        assert (1 if flushes else 0) <= day["night_bathroom"] <= len(night_bathroom_ons)
        assert 0 <= day["out_min"] <= 24 * 60
    # She goes out: the recording has front-door passages with long silences between them.
    assert sum(1 for d in days if d["out_min"] >= 30) >= 5


def minutes(hhmm: str) -> float:
    h, m = map(int, hhmm.split(":"))
    return h * 60 + m + (1440 if h < 6 else 0)


@pytest.mark.slow
def test_findings_hold_against_the_norm_they_name(tmp_path: Path, recording: list[LogEvent]) -> None:
    """Each finding re-checked from the summaries before it (nearest-rank quartiles of the last 14 complete
    days), and every day that leaves its norm that far has its finding: nothing invented, nothing missed."""
    days = run(tmp_path, recording)
    found = 0
    for i, day in enumerate(days):
        past = [d for d in days[:i] if not d["partial"]][-14:]
        named = {f["figure"]: f for f in day["findings"]}
        if len(past) < 7:
            assert not named, day["date"]
            continue
        for key in ("night_bathroom", "night_up", "bathroom_visits", "kitchen", "activity", "out_min",
                    "first_activity"):
            if day[key] is None:
                continue
            value = minutes(day[key]) if key == "first_activity" else float(day[key])
            values = [minutes(d[key]) if key == "first_activity" else float(d[key]) for d in past if d[key] is not None]
            if len(values) < 7:  # days she was away have no time she got up: too few to judge
                assert key not in named
                continue
            lo, hi = percentile(values, 25), percentile(values, 75)
            if key == "first_activity":
                far = value > hi + 60 or value < lo - 60
            elif key == "out_min":
                far = value > hi + 120
            else:
                far = value > hi + max(2.0, hi) or (value == 0 and lo >= 3)
            assert (key in named) is far, (day["date"], key, value, lo, hi)
            found += far
    print(f"findings over {len(days)} days: " + "; ".join(
        f"{d['date']} {f['zh']}" for d in days for f in d["findings"]))
    assert found >= 3  # this home has days away and busy days: a norm that never fires is not working


def extra_night_visits(recording: list[LogEvent], nights: list[datetime]) -> list[LogEvent]:
    """Four more toilet visits (door, flush, door) on each given night, 01:00-04:00."""
    added = []
    for night in nights:
        for hour in (1, 2, 3, 4):
            t = night.replace(hour=hour, minute=17)
            added += [LogEvent(t, "D-Hall-Toiletdoor", "ON"),
                      LogEvent(t + timedelta(seconds=5), "D-Hall-Toiletdoor", "OFF"),
                      LogEvent(t + timedelta(minutes=3), "F-ToiletFlush", "ON"),
                      LogEvent(t + timedelta(minutes=3, seconds=2), "F-ToiletFlush", "OFF")]
    return sorted(recording + added, key=lambda e: e.ts)


@pytest.mark.slow
def test_a_run_of_nights_on_the_toilet_is_found_on_those_nights(tmp_path: Path, recording: list[LogEvent]) -> None:
    spans = windows(recording)
    nights = [spans[i][1] for i in (18, 19)]  # the early hours that end days 18 and 19
    days = run(tmp_path, extra_night_visits(recording, nights))
    flagged = {d["date"] for d in days for f in d["findings"] if f["figure"] == "night_bathroom"}
    wanted = {spans[i][0].date().isoformat() for i in (18, 19)}
    assert flagged == wanted, (wanted, flagged)  # those nights, and no other
    day = next(d for d in days if d["date"] == spans[18][0].date().isoformat())
    finding = next(f for f in day["findings"] if f["figure"] == "night_bathroom")
    assert finding["zh"].startswith(f"夜间如厕 {day['night_bathroom']} 次，平时 ")
    assert day["night_bathroom"] >= 4


def morning_readings(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, str, dict[str, Any]]]:
    """A blood pressure most mornings and a fasting glucose every third day, as a hypertensive resident
    with diabetes might take them (fixed seed). The recorded home had no meters; these go in as the health
    component keeps them (its events, and the meter store's history)."""
    rng = random.Random(7)
    out: list[tuple[datetime, str, dict[str, Any]]] = []
    for i, (start, _end) in enumerate(spans):
        when = start + timedelta(hours=2, minutes=rng.randint(0, 50))
        if rng.random() < 0.85:
            sys_, dia = rng.randint(128, 168), rng.randint(76, 98)
            grade = "grade_2" if sys_ >= 160 or dia >= 100 else "grade_1" if sys_ >= 140 or dia >= 90 else "high_normal"
            out.append((when, "measurement.blood_pressure",
                        {"systolic": sys_, "diastolic": dia, "pulse": rng.randint(60, 84), "grade": grade}))
        if i % 3 == 0:
            mmol = round(rng.uniform(5.2, 8.8), 1)
            out.append((when + timedelta(minutes=5), "measurement.glucose",
                        {"mmol_per_l": mmol, "meal": "fasting", "category": "normal" if mmol < 7.0 else "high"}))
    return out


@pytest.mark.slow
def test_the_30_day_report_shows_what_the_unit_kept(tmp_path: Path, recording: list[LogEvent]) -> None:
    spans = windows(recording)
    readings = morning_readings(spans)
    config = wellbeing_config(tmp_path / "state")
    until = spans[-1][1] + timedelta(minutes=1)
    ctx = replay(config, spans[0][0], [(e.ts, e.source) for e in recording if e.ts < spans[-1][1]], until, readings)
    days = [e.data for e in ctx.events if e.type == "wellbeing.daily"]
    store = MeterStore(tmp_path / "state" / "meters.sqlite")
    for ts, kind, data in readings:
        if kind == "measurement.blood_pressure":
            store.add_history("bp", ts, data["systolic"], data["diastolic"])
        else:
            store.add_history("glucose", ts, data["mmol_per_l"], None, data["meal"])
    store.close()
    (tmp_path / "hub.toml").write_text(f'[hub]\nid = "kasteren-a"\nstate_dir = "{tmp_path / "state"}"\n'
                                       'timezone = "UTC"\n[mqtt]\nhost = "127.0.0.1"\n')
    out, figures = tmp_path / "report.png", tmp_path / "report.json"
    today = spans[-1][1].date().isoformat()
    done = subprocess.run([sys.executable, "-m", "hub", "report", "--config", str(tmp_path / "hub.toml"),
                           "--days", "30", "--out", str(out), "--data-out", str(figures), "--today", today],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    body = out.read_bytes()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    assert (width, height) == (827, 1169)  # one A4 page at 100 dpi
    assert 60_000 < len(body) < 512 * 1024  # a real chart, and small enough for report.ready
    plotted = json.loads(figures.read_text())
    assert [d["date"] for d in plotted["days"]] == [d["date"] for d in days][-30:]
    assert [d["hourly"] for d in plotted["days"]] == [d["hourly"] for d in days][-30:]
    bp = [(d["systolic"], d["diastolic"]) for _t, k, d in readings if k == "measurement.blood_pressure"]
    assert [(s, d) for _t, s, d in plotted["bp"]] == bp
    assert [v for _t, v, _m in plotted["glucose"]] == [d["mmol_per_l"] for _t, k, d in readings
                                                       if k == "measurement.glucose"]
    assert sum(len(d["readings"]) for d in days) == len(readings)  # the summaries counted every reading too
    example = os.environ.get("WELLBEING_EXAMPLE")
    if example:  # docs/images/wellbeing-report.png is made this way (docs/wellbeing.md)
        shutil.copy(out, example)
