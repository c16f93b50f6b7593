"""`hub eval inactivity`: log parsing, the replay on a tiny made-up log, and the shared development data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import SHARED_DATA

from hub.cli import main
from hub.detect.evaluation.inactivity import (
    LogError,
    evaluate,
    injection_times,
    out_intervals,
    parse_log,
    without_doors_and_mats,
)
from hub.detect.inactivity.params import Params

DATA = SHARED_DATA / "activity"
HOMES = ["ordonez_a", "kasteren_a"]
KEYS = {"days", "false_alarms", "false_alarms_per_30d", "injections", "detected", "median_delay_min_day",
        "p90_delay_min_day", "median_delay_min_night"}


@pytest.mark.parametrize(("line", "problem"), [
    ("2024-01-01 10:00:00 M-Kitchen ON", "expected"),  # spaces, not tabs
    ("2024-01-01 10:00:00\tM-Kitchen\tMAYBE", "expected"),
    ("2024-13-01 10:00:00\tM-Kitchen\tON", "bad time"),
    ("2023-12-31 10:00:00\tM-Kitchen\tON", "backwards"),
])
def test_bad_lines_are_named(line: str, problem: str) -> None:
    lines = ["2024-01-01 09:00:00\tM-Kitchen\tON", line]
    with pytest.raises(LogError, match=rf"home\.events:2: .*{problem}"):
        parse_log(lines, "home.events")


def test_parse_skips_blanks_and_marks_the_exit_door() -> None:
    events = parse_log(["", "2024-01-01 09:00:00\tX-Entrance-Door\tON\n", "# note",
                        "2024-01-01 09:00:04\tM-Hall-Pir\tOFF\r\n"])
    assert [(e.source, e.exit_door) for e in events] == [("X-Entrance-Door:ON", True),
                                                          ("M-Hall-Pir:OFF", False)]


def made_up_log(days: int) -> list[str]:
    """A steady resident: kitchen motion every 20 minutes from 07:00 to 22:00, asleep in between."""
    lines = []
    start = datetime(2024, 1, 1)
    for d in range(days):
        for minute in range(7 * 60, 22 * 60, 20):
            t = start + timedelta(days=d, minutes=minute)
            lines += [f"{t:%Y-%m-%d %H:%M:%S}\tM-Kitchen-Pir\tON",
                      f"{t + timedelta(seconds=30):%Y-%m-%d %H:%M:%S}\tM-Kitchen-Pir\tOFF"]
    return lines


def test_replay_of_a_steady_home() -> None:
    result = evaluate(parse_log(made_up_log(10)), seed=3, injections=200)
    assert set(result) >= KEYS
    assert result["false_alarms"] == 0 and result["injections"] == 200
    assert result["detected"] == 200 and result["detected_within_12h"] == 200
    assert result["max_delay_min"] <= 12 * 60
    assert sum(v["n"] for v in result["delay_by_time_of_day"].values()) == 200
    # The early check asks at its daytime floor once two days are learned, start-up floor or not.
    assert result["median_delay_min_day"] <= 90 and result["false_checks_per_30d"] < 15
    late = Params(early_checks_per_day=0)  # ask only at the full limit: the start-up floor shows
    settled = evaluate(parse_log(made_up_log(10)), replace(late, settle_days=2), seed=3, injections=200)
    assert settled["median_delay_min_day"] <= 90  # once learned, 20-minute gaps give the floor limit
    first_days = evaluate(parse_log(made_up_log(10)), late, seed=3, injections=200)
    assert first_days["median_delay_min_day"] > settled["median_delay_min_day"]  # the first days: conservative


def test_oracle_floor_is_the_wait_for_the_next_real_activity() -> None:
    result = evaluate(parse_log(made_up_log(10)), seed=3, injections=200)
    # By day the next kitchen visit is at most 20 minutes away; asleep at 00-06, the next is at 07:00.
    assert 0 < result["oracle_median_min_day"] <= 20
    assert result["delay_by_time_of_day"]["00-06"]["oracle_median_min"] >= 60
    # No check comes before the 60-minute daytime floor plus the 10-minute wait, counted from the last
    # visit, and the next visit was due within 20 minutes of it: at least 50 minutes beyond the floor.
    assert result["excess_median_min_day"] >= 50
    assert result["median_delay_min_day"] >= result["oracle_median_min_day"]


def test_injections_fall_at_home_and_doors_and_mats_can_be_left_out() -> None:
    lines = made_up_log(3)
    t = datetime(2024, 1, 2, 12, 1)
    lines.append(f"{t:%Y-%m-%d %H:%M:%S}\tX-Entrance-Door\tON")
    lines.sort()
    events = parse_log(lines)
    # Out from the door until the second independent event inside (the kitchen PIR at 12:20 and 12:40).
    assert out_intervals(events) == [(t.replace(tzinfo=UTC), (t + timedelta(minutes=39)).replace(tzinfo=UTC))]
    times = injection_times(events, 300, seed=5)
    assert len(times) == 300 and not any(a < x < b for a, b in out_intervals(events) for x in times)
    assert [e.sensor for e in without_doors_and_mats(events)] == ["M-Kitchen-Pir"] * (len(events) - 1)


def test_same_seed_same_figures_and_the_cli_prints_json(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "home.events"
    log.write_text("\n".join(made_up_log(4)) + "\n", encoding="utf-8")
    assert main(["eval", "inactivity", str(log), "--json", "--seed", "7", "--injections", "50"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first) == {"all_inputs"}  # nothing but PIR: no "without doors and mats" variant
    assert main(["eval", "inactivity", str(log), "--json", "--seed", "7", "--injections", "50"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main(["eval", "inactivity", str(tmp_path / "missing.events")]) == 2
    assert "missing.events" in capsys.readouterr().err


@pytest.mark.parametrize("home", HOMES)
def test_shared_development_data(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / f"{home}.events"
    if not path.exists():
        pytest.skip(f"development data not present at {path}")
    assert main(["eval", "inactivity", str(path), "--seed", "1", "--injections", "150"]) == 0
    report = capsys.readouterr().out
    assert "false alarms" in report and "median" in report
    with capsys.disabled():
        print(f"\n{report}")
    assert main(["eval", "inactivity", str(path), "--json", "--seed", "1", "--injections", "150"]) == 0
    result = json.loads(capsys.readouterr().out)
    for inputs in ("all_inputs", "without_doors_mats"):
        assert set(result[inputs]) >= KEYS and result[inputs]["injections"] == 150


def test_checks_while_out_are_counted_apart() -> None:
    """Without the exit door a day out is a silence: the checks that fall in it (by the full log's
    presence) are reported apart, since in an empty flat nobody answers them."""
    lines = []
    for line in made_up_log(10):
        t = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
        if not (5 <= t.day <= 8 and 9 <= t.hour < 17):  # out 09:00-17:00 on four days
            lines.append(line)
    for day in range(5, 9):
        for hh in (9, 17):
            t = datetime(2024, 1, day, hh, 0, 5)
            lines += [f"{t:%Y-%m-%d %H:%M:%S}\tX-Entrance-Door\tON",
                      f"{t + timedelta(seconds=20):%Y-%m-%d %H:%M:%S}\tX-Entrance-Door\tOFF"]
    events = parse_log(sorted(lines))
    full = evaluate(events, seed=1, injections=50)
    reduced = evaluate(without_doors_and_mats(events), seed=1, injections=50, truth=events)
    assert full["checks_while_out_per_30d"] == 0  # the door says out: nothing is asked
    assert 0 < reduced["checks_while_out_per_30d"] <= reduced["false_checks_per_30d"]
    # One alarm per gap: in an empty flat the first check of an absence is the alarm, whatever follows.
    assert 0 < reduced["absences_checked_per_30d"] <= reduced["checks_while_out_per_30d"]
    assert reduced["absences_checked_per_30d"] <= 4 * 30 / reduced["days"]  # four days out
