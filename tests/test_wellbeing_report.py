"""`hub report` says only what the unit knows: a day it has no summary of is "no record", not a day
without movement; readings of the small hours belong to the wellbeing day they fall in; and "nothing
unusual" is said only once there was a norm to compare against (docs/wellbeing.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import load
from hub.wellbeing.chart.data import collect
from hub.wellbeing.chart.draw import rhythm_grid
from hub.wellbeing.norm import MIN_DAYS
from hub.wellbeing.request import ReportRequests
from sensors.meters.store import MeterStore

ZONE = UTC
TODAY = date(2026, 12, 7)


def _day(d: date, hourly: list[int] | None = None, covered_from: datetime | None = None) -> dict[str, Any]:
    start = datetime.combine(d, time(6, 0), ZONE)
    day: dict[str, Any] = {"date": d.isoformat(), "from": start.isoformat(),
                           "to": (start + timedelta(days=1)).isoformat(), "partial": covered_from is not None,
                           "hourly": hourly or [0] * 24, "activity": sum(hourly or []), "night_up": 0,
                           "night_bathroom": 0, "alarms": 0, "checks": 0, "findings": []}
    if covered_from is not None:
        day["covered_from"] = covered_from.isoformat()
    return day


def _state(tmp: Path, days: list[dict[str, Any]]) -> Path:
    state = tmp / "state"
    state.mkdir()
    (state / "wellbeing.jsonl").write_text("".join(json.dumps(d) + "\n" for d in days))
    return state


def test_readings_of_the_small_hours_count_for_the_day_they_belong_to(tmp_path: Path) -> None:
    state = _state(tmp_path, [_day(TODAY - timedelta(days=1))])
    store = MeterStore(state / "meters.sqlite")
    store.add_history("bp", datetime(2026, 12, 7, 2, 0, tzinfo=ZONE), 185, 112)  # 02:00: still Dec 6's day
    store.add_history("bp", datetime(2026, 12, 7, 6, 30, tzinfo=ZONE), 120, 80)  # today's day: not yet
    store.add_history("glucose", datetime(2026, 11, 30, 5, 0, tzinfo=ZONE), 6.1, None, "fasting")  # before it
    store.close()
    data = collect(state, "h", 7, TODAY, ZONE, time(6, 0))
    assert [(s, d) for _t, s, d in data.bp] == [(185, 112)]
    assert data.glucose == []
    assert (data.first, data.last, data.day_start) == ("2026-11-30", "2026-12-06", "06:00")


def test_a_day_closed_early_in_the_demo_is_in_the_report(tmp_path: Path) -> None:
    """The demo says "hub sim wellbeing close  # send the day's summary now, then: hub report --days 7"; the
    report then ended the day before and said "本期还没有每日小结 … (in a demo: hub sim wellbeing close)"."""
    started = datetime.combine(TODAY, time(9, 30), ZONE)
    state = _state(tmp_path, [_day(TODAY, covered_from=started)])
    store = MeterStore(state / "meters.sqlite")
    store.add_history("bp", datetime(2026, 12, 7, 10, 0, tzinfo=ZONE), 165, 102)  # taken today, before the close
    store.close()
    data = collect(state, "h", 7, TODAY, ZONE, time(6, 0))
    assert (data.first, data.last) == ("2026-12-01", "2026-12-07")
    assert [d["date"] for d in data.days] == ["2026-12-07"] and [(s, d) for _t, s, d in data.bp] == [(165, 102)]
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "h"\nstate_dir = "{state}"\ntimezone = "UTC"\n[mqtt]\nhost = "127.0.0.1"\n')
    out = subprocess.run([sys.executable, "-m", "hub", "report", "--days", "7", "--today", TODAY.isoformat(),
                          "--out", str(tmp_path / "r.png"), "--config", str(config)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "2026-12-01 – 2026-12-07 · 1 天 days, 1 次血压" in out.stdout and "还没有" not in out.stdout, out.stdout


def test_a_day_without_a_summary_is_no_record_not_zero_activity(tmp_path: Path) -> None:
    busy = [0] * 24
    busy[8] = 5  # 08:00-09:00: column 2 when the day starts at 06:00
    late = datetime.combine(TODAY - timedelta(days=1), time(9, 30), ZONE)  # the unit counted from 09:30
    state = _state(tmp_path, [_day(TODAY - timedelta(days=2), busy),
                              _day(TODAY - timedelta(days=1), covered_from=late)])
    data = collect(state, "h", 7, TODAY, ZONE, time(6, 0))
    grid, order = rhythm_grid(data, date.fromisoformat(data.first), 7)
    assert order[:3] == [6, 7, 8]
    assert all(math.isnan(v) for row in grid[:5] for v in row)  # no summary: all unknown
    assert grid[5][2] == 5 and grid[5][0] == 0  # a counted day: its zeros are real zeros
    assert all(math.isnan(v) for v in grid[6][:3]) and grid[6][3:] == [0.0] * 21  # partial: 06:00-09:00 unknown


def test_nothing_unusual_only_against_a_norm(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    new_unit = collect(_state(tmp_path / "a", [_day(TODAY - timedelta(days=1))]), "h", 7, TODAY, ZONE, time(6, 0))
    assert new_unit.judged == 0
    history = [_day(TODAY - timedelta(days=n)) for n in range(MIN_DAYS + 2, 0, -1)]
    (tmp_path / "b").mkdir()
    learned = collect(_state(tmp_path / "b", history), "h", 7, TODAY, ZONE, time(6, 0))
    assert learned.judged == 2  # the last two days had seven complete days before them


@pytest.mark.slow
def test_the_report_of_a_new_unit_says_it_has_not_compared(tmp_path: Path) -> None:
    state = _state(tmp_path, [_day(TODAY - timedelta(days=1))])
    (tmp_path / "hub.toml").write_text(f'[hub]\nid = "r-0001"\nstate_dir = "{state}"\ntimezone = "UTC"\n'
                                       '[mqtt]\nhost = "127.0.0.1"\n')
    out, figures = tmp_path / "r.png", tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "hub", "report", "--config", str(tmp_path / "hub.toml"), "--out",
                           str(out), "--data-out", str(figures), "--today", TODAY.isoformat()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert done.stdout.strip() == (f"{out}: 2026-11-30 – 2026-12-06 · 1 天 days, 0 次血压 blood pressure and "
                                   "0 次血糖 glucose readings")
    assert json.loads(figures.read_text())["judged"] == 0
    empty = subprocess.run([sys.executable, "-m", "hub", "report", "--config", str(tmp_path / "hub.toml"), "--out",
                            str(out), "--today", "2026-11-01"], capture_output=True, text=True, timeout=120)
    assert empty.returncode == 0, empty.stderr
    assert "本期还没有每日小结 no daily summary in this period yet" in empty.stdout
    assert "hub sim wellbeing close" in empty.stdout


@pytest.mark.slow
def test_two_hubs_drawing_the_same_report_id_at_once_each_get_their_chart(tmp_path: Path) -> None:
    """The scratch directory is the user's, shared by every hub of that user (the test suite's parallel hubs, a
    second unit on a bench): two drawings of "r-1" at once must not take each other's file (one got ENOENT)."""
    hubs: list[ReportRequests] = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        state = _state(tmp_path / name, [_day(TODAY - timedelta(days=1))])
        (tmp_path / name / "hub.toml").write_text(f'[hub]\nid = "r-000{len(hubs) + 1}"\nstate_dir = "{state}"\n'
                                                  'timezone = "UTC"\n[mqtt]\nhost = "127.0.0.1"\n')
        hubs.append(ReportRequests(load(tmp_path / name / "hub.toml")))

    async def both() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(h.render("r-1", 7, "png") for h in hubs)))

    charts = asyncio.run(both())
    assert [base64.b64decode(c["content_base64"])[:8] for c in charts] == [b"\x89PNG\r\n\x1a\n"] * 2
    assert all(c["id"] == "r-1" and c["bytes"] > 0 for c in charts)
