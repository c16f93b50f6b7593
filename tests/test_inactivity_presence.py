"""Presence from evidence, shared by the detector and the evaluator's ground truth (issue #25): an
absence is not ended by one stray event, and no incapacitation is injected into it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.detect.evaluation.inactivity import (
    LogError,
    evaluate,
    injection_times,
    load_absences,
    out_intervals,
    parse_log,
)
from hub.detect.presence import Presence, absences

T0 = datetime(2024, 5, 6, tzinfo=UTC)


def line(t: datetime, sensor: str, state: str = "ON") -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}\t{sensor}\t{state}"


def home_with_a_trip(stray: bool) -> list[str]:
    """Kitchen motion every 20 min 07:00-22:00 for 10 days; out from day 3 09:00 to day 7 09:00
    (exit door each way); with `stray`, one PIR event in the empty flat on day 5."""
    leave, back = T0 + timedelta(days=3, hours=9), T0 + timedelta(days=7, hours=9)
    lines = []
    for d in range(10):
        for minute in range(7 * 60, 22 * 60, 20):
            t = T0 + timedelta(days=d, minutes=minute)
            if not leave - timedelta(minutes=5) < t < back + timedelta(minutes=5):
                lines.append(line(t, "M-Kitchen-Pir"))
    lines += [line(leave, "X-Entrance-Door"), line(leave + timedelta(seconds=20), "X-Entrance-Door", "OFF"),
              line(back, "X-Entrance-Door"), line(back + timedelta(seconds=20), "X-Entrance-Door", "OFF")]
    if stray:
        lines.append(line(T0 + timedelta(days=5, hours=14), "M-Living-Pir"))
    return sorted(lines)


def test_one_stray_event_in_a_four_day_absence_leaves_the_flat_empty() -> None:
    events = parse_log(home_with_a_trip(stray=True))
    leave, back = T0 + timedelta(days=3, hours=9), T0 + timedelta(days=7, hours=9)
    spans = out_intervals(events)
    long = [(a, b) for a, b in spans if b - a > timedelta(hours=1)]
    assert len(long) == 1 and long[0][0] == leave and long[0][1] >= back  # home again only after the return
    skipped: list[datetime] = []
    times = injection_times(events, 400, seed=2, skipped=skipped)
    assert len(times) == 400 and not any(leave < t < back for t in times)
    assert len(skipped) > 100 and all(leave < t <= long[0][1] for t in skipped)  # ~40 % of the span


def test_the_detector_stays_quiet_through_the_absence_and_the_evaluator_reports_skips() -> None:
    events = parse_log(home_with_a_trip(stray=True))
    result = evaluate(events, seed=4, injections=200)
    assert result["false_alarms"] == 0  # the stray event did not bring the resident "home"
    assert result["skipped_absent"] > 50 and result["absences"] >= 1
    assert result["detected"] == result["injections"] == 200


def test_a_single_stray_event_is_not_a_return_but_two_independent_ones_are() -> None:
    model = Presence()
    door = T0 + timedelta(hours=9)
    assert absences([(door, "X-Entrance-Door:ON", True), (door + timedelta(days=1), "M-Living-Pir:ON", False),
                     (door + timedelta(days=2), "E-Fridge:OFF", False)], model) \
        == [(door, door + timedelta(days=2))]  # still out at the end of the log
    model = Presence()
    back = door + timedelta(days=1)
    spans = absences([(door, "X-Entrance-Door:ON", True), (back, "M-Hall-Pir:ON", False),
                      (back + timedelta(seconds=40), "M-Kitchen-Pir:ON", False)], model)
    assert spans == [(door, back + timedelta(seconds=40))] and not model.out


def test_labelled_absences_are_added_to_the_model(tmp_path: Path) -> None:
    events = parse_log(home_with_a_trip(stray=False))
    trip = (T0 + timedelta(days=1, hours=10), T0 + timedelta(days=1, hours=16))  # no door event: a label only
    labels = tmp_path / "absences.tsv"
    labels.write_text(f"# start\tend\n{trip[0]:%Y-%m-%d %H:%M:%S}\t{trip[1]:%Y-%m-%d %H:%M:%S}\n", encoding="utf-8")
    spans = load_absences(labels)
    assert spans == [trip]
    times = injection_times(events, 300, seed=1, labelled=spans)
    assert not any(trip[0] < t < trip[1] for t in times)
    plain, marked = evaluate(events, seed=1, injections=100), evaluate(events, seed=1, injections=100, labelled=spans)
    assert marked["absences"] == plain["absences"] + 1 and marked["skipped_absent"] > plain["skipped_absent"]
    labels.write_text("2024-05-07 10:00:00\t2024-05-07 09:00:00\n", encoding="utf-8")
    with pytest.raises(LogError, match="ends before it starts"):
        load_absences(labels)
