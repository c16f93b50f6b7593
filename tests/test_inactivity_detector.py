"""The pure inactivity detector: learned limits, check before alarm, away, presumed out, morning, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.detect.inactivity.detector import InactivityDetector, Params, hhmm_to_min, shrunk_quantile
from hub.detect.inactivity.routine import source_kind

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday morning
H = timedelta(hours=1)
M = timedelta(minutes=1)
SETTLED = Params(settle_days=2.0)  # learned limits at once, as after weeks of history (no start-up floor)


def kinds(decisions: list) -> list[str]:
    return [d.kind for d in decisions]


def test_fallback_check_then_alarm_once_with_nominal_times() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    assert det.tick(T0 + 5 * H) == []
    out = det.tick(T0 + 24 * H)  # a coarse tick still gives the times they fell due
    assert kinds(out) == ["check", "recheck", "alarm"]
    check, recheck, alarm = out
    assert check.at == T0 + 6 * H and check.basis == "fallback"
    assert recheck.at == T0 + 6 * H + 5 * M and recheck.check_at == check.at  # louder, within the wait
    assert alarm.at == T0 + 6 * H + 10 * M
    assert alarm.gap_s == pytest.approx(6 * 3600 + 600)
    assert alarm.last_activity == T0 and alarm.last_source == "pir" and alarm.check_at == check.at
    assert det.tick(T0 + 48 * H) == []  # one alarm per gap, never a storm


def test_activity_during_the_wait_answers_the_check() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    assert kinds(det.tick(T0 + 6 * H + M)) == ["check"]
    assert det.asking and det.question == 1
    assert kinds(det.note(T0 + 6 * H + 4 * M, "button:17")) == ["answered"]
    assert det.question is None
    assert not det.asking
    assert det.tick(T0 + 7 * H) == []


def test_fallback_gap_reaching_into_the_night_gets_the_night_limit() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0.replace(hour=19), "pir")  # 19:00 + 6 h would be 01:00: the resident may be asleep
    assert det.next_alarm_at() == T0.replace(hour=19) + timedelta(hours=11.5, minutes=10)


def test_away_mode_suppresses_and_home_restarts_the_timer() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.set_away(True, T0 + M)
    assert det.tick(T0 + 72 * H) == [] and det.next_alarm_at() is None
    det.set_away(False, T0 + 72 * H)
    assert det.last_source == "away:cleared"
    assert det.next_alarm_at() == T0 + 78 * H + 10 * M


def test_away_mode_ends_on_activity_inside_after_the_grace() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.set_away(True, T0)
    assert det.note(T0 + 2 * M, "pir") == []  # walking out after holding the button
    assert det.away
    assert kinds(det.note(T0 + 5 * H, "pir")) == ["away_cleared"]
    assert not det.away and det.next_alarm_at() is not None


def test_away_mode_without_autoclear_stays_on() -> None:
    det = InactivityDetector(Params(away_autoclear=False), tz=UTC)
    det.set_away(True, T0)
    det.note(T0 + 5 * H, "pir")
    assert det.away and det.tick(T0 + 30 * H) == []


def test_exit_door_then_nothing_is_presumed_out_without_alarm() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.note(T0 + M, "door:exit", exit_door=True)
    det.note(T0 + M + timedelta(seconds=4), "door:exit", exit_door=True)  # same pattern: close
    det.note(T0 + M + timedelta(seconds=6), "pir")  # hall PIR as the door shuts: within settle
    assert det.out
    assert det.tick(T0 + 40 * H) == []
    # Coming home: the door alone is not evidence (a door opened from outside, a missed event)...
    det.note(T0 + 41 * H, "door:exit", exit_door=True)
    assert det.out and det.next_alarm_at() is None
    # ...the door then activity inside is: two independent events.
    det.note(T0 + 41 * H + 2 * M, "pir")
    assert not det.out and det.next_alarm_at() is not None


def test_a_late_hall_event_as_the_resident_leaves_does_not_bring_them_home() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.note(T0 + M, "door:exit", exit_door=True)
    det.note(T0 + 2 * M, "pir")  # the hall PIR's last trigger after the door shut
    assert det.out and det.tick(T0 + 30 * H) == []


def test_one_stray_event_while_out_does_not_make_home() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.note(T0 + M, "door:exit", exit_door=True)
    det.note(T0 + 2 * H, "E-Kitchen-Fridge:ON")  # the fridge compressor, not the resident
    det.note(T0 + 2 * H + 5 * M, "E-Kitchen-Fridge:OFF")  # its own OFF is no new evidence
    assert det.out and det.tick(T0 + 30 * H) == []
    det.note(T0 + 5 * H, "pir")  # a second event, hours later: not the same return
    assert det.out
    det.note(T0 + 5 * H + 10 * 60 * timedelta(seconds=0.1), "pir")  # the same sensor 60 s later: someone
    assert not det.out


def test_a_missed_door_event_on_return_is_recovered_from_inside() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.note(T0 + M, "door:exit", exit_door=True)  # leaves; the return's door event is lost
    det.note(T0 + 3 * H, "pir")
    det.note(T0 + 3 * H + M, "pir:kitchen")
    assert not det.out
    # Leaving again later is a fresh door pattern, not a toggle back "in".
    det.note(T0 + 5 * H, "door:exit", exit_door=True)
    assert det.out and det.tick(T0 + 20 * H) == []


def test_visitor_leaving_while_resident_stays_in() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.note(T0 + M, "door:exit", exit_door=True)
    assert det.out
    det.note(T0 + 3 * M, "pir")  # the resident walks back in...
    det.note(T0 + 4 * M, "pir")  # ...and moves about: at home
    assert not det.out and det.next_alarm_at() is not None


def test_a_press_while_presumed_out_is_someone_home() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0 + M, "door:exit", exit_door=True)
    det.note(T0 + H, "button:17")
    assert not det.out


def test_a_mat_flicker_does_not_end_the_rest() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    nap = T0.replace(hour=13)
    det.note(nap, "P-Living-Seat:ON")
    resting = det.next_alarm_at()
    det.note(nap + 40 * M, "P-Living-Seat:OFF")  # shifts on the seat: 30 s off
    assert det.last_source == "P-Living-Seat:ON"  # the OFF is held, the rest goes on
    det.note(nap + 40 * M + timedelta(seconds=30), "P-Living-Seat:ON")
    assert det.flickers == 1 and det.next_alarm_at() == resting and det.last_source == "P-Living-Seat:ON"
    assert det.last_ts == nap
    # A real getting-up: OFF for longer than the hold; the gap starts at the OFF's own time.
    det.note(nap + 2 * H, "P-Living-Seat:OFF")
    det.tick(nap + 2 * H + 2 * M)
    assert det.last_source == "P-Living-Seat:OFF" and det.last_ts == nap + 2 * H
    # Getting up and doing something else commits the OFF at once.
    det.note(nap + 3 * H, "P-Living-Seat:ON")
    det.note(nap + 4 * H, "P-Living-Seat:OFF")
    det.note(nap + 4 * H + timedelta(seconds=20), "D-Kitchen-Fridge:ON")
    assert det.flickers == 1 and det.last_source == "D-Kitchen-Fridge:ON"


def test_next_alarm_while_a_mat_off_is_held_counts_from_the_off() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "P-Living-Seat:ON")
    det.note(T0 + H, "P-Living-Seat:OFF")
    limit = det.expectation("P-Living-Seat:OFF", T0 + H)[0]
    assert det.next_alarm_at() == T0 + H + timedelta(seconds=limit + 600)


def test_limits_start_conservative_and_narrow_with_history() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    first = routine(det, 3)
    early = det.expectation("pir:kitchen", first + timedelta(hours=9))
    assert early[2] == "learned" and early[0] > 5 * 3600  # two days in: still near the start-up limit
    assert det.routine.progress(first)["narrowed_pct"] < 20
    later = routine(det, 20, first)
    late = det.expectation("pir:kitchen", later + timedelta(hours=9))
    assert late[0] < 2 * 3600 and det.routine.progress(later)["narrowed_pct"] == 100


def test_out_limit_alarms_once_when_configured() -> None:
    det = InactivityDetector(Params(out_limit_h=24), tz=UTC)
    det.note(T0, "door:exit", exit_door=True)
    out = det.tick(T0 + 30 * H)
    assert kinds(out) == ["check", "recheck", "alarm"] and out[0].reason == "out"
    assert det.tick(T0 + 60 * H) == []


def routine(det: InactivityDetector, days: int, start: datetime = T0) -> datetime:
    """A regular day: up at 07:00, kitchen every 10 min in the morning, an afternoon nap, bed at 22:00."""
    day0 = start.replace(hour=0, minute=0)
    for d in range(days):
        base = day0 + timedelta(days=d)
        for minute in range(7 * 60, 12 * 60, 10):
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
        det.note(base + timedelta(hours=13), "mat:sofa")  # sits down for two hours
        for minute in range(15 * 60, 22 * 60, 15):
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
        det.note(base + timedelta(hours=22, minutes=5), "mat:bed")
    return day0 + timedelta(days=days)


def test_learned_limits_follow_the_source_and_time_of_day() -> None:
    det = InactivityDetector(SETTLED, tz=UTC)
    next_day = routine(det, 10)
    limit, normal, basis = det.expectation("pir:kitchen", next_day + timedelta(hours=9))
    assert basis == "learned" and normal == pytest.approx(600)
    assert limit == pytest.approx(60 * 60)  # bounded below by day_min_min
    sofa, sofa_normal, _ = det.expectation("mat:sofa", next_day + timedelta(hours=13))
    assert sofa_normal == pytest.approx(2 * 3600)
    assert sofa == pytest.approx(2 * 3600 * 1.5 + 30 * 60)
    night, _, _ = det.expectation("mat:bed", next_day + timedelta(hours=22, minutes=5))
    assert night == pytest.approx(11.5 * 3600)  # 9 h of sleep x 1.5: capped by night_max_h


def test_morning_check_when_not_up_by_the_usual_time() -> None:
    det = InactivityDetector(Params(early_checks_per_day=0, morning_margin_min=30), tz=UTC)  # morning rule alone
    next_day = routine(det, 8)
    bed = next_day - timedelta(hours=1, minutes=55)  # last night's 22:05
    assert det.last_ts == bed
    assert det.usual_up(next_day) == pytest.approx(3 * 60)  # 07:00 is three hours after 04:00
    check = det.tick(next_day + timedelta(hours=12))[0]
    assert check.reason == "morning" and check.at == next_day + timedelta(hours=7, minutes=30)


def test_back_to_bed_after_an_early_bathroom_visit() -> None:
    """Up at 04:30 for the bathroom, back to bed at 04:35, up for the day at 07:00: the day starts at
    07:00, and a night like that is still judged by the morning check, not by the night limit."""
    det = InactivityDetector(Params(early_checks_per_day=0), tz=UTC)  # the morning rule alone
    day0 = T0.replace(hour=0, minute=0)
    for d in range(8):
        base = day0 + timedelta(days=d)
        det.note(base + timedelta(hours=4, minutes=30), "pir:bathroom")
        det.note(base + timedelta(hours=4, minutes=35), "pir:bedroom")
        for minute in range(7 * 60, 22 * 60, 10):
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
    next_day = day0 + timedelta(days=8)
    assert det.usual_up(next_day) == pytest.approx(3 * 60)  # 07:00, not the 04:30 visit
    det.note(next_day + timedelta(hours=4, minutes=30), "pir:bathroom")
    back = next_day + timedelta(hours=4, minutes=35)
    det.note(back, "pir:bedroom")
    check = det.tick(next_day + timedelta(hours=12))[0]
    assert check.reason == "morning" and check.at == next_day + timedelta(hours=7)
    assert det.expectation("pir:bedroom", back)[0] > 3 * 3600  # what the night limit would have asked


def test_history_round_trip_keeps_the_routine(tmp_path: object) -> None:
    det = InactivityDetector(Params(), tz=UTC)
    next_day = routine(det, 6)
    data = det.to_dict()
    data["samples"].append(["bad", 1, "x", 2])  # skipped, not fatal
    again = InactivityDetector(Params(), tz=UTC)
    assert again.load(data) == det.sample_count()
    at = next_day + timedelta(hours=9)
    assert again.expectation("pir:kitchen", at) == det.expectation("pir:kitchen", at)
    assert again.usual_up(at) == det.usual_up(at)
    with pytest.raises(ValueError, match="version"):
        InactivityDetector().load({"version": 99})


def test_restart_counts_from_start_and_shift_follows_a_clock_step() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "pir")
    det.restart(T0 + 5 * H)
    assert det.last_source == "hub:start" and det.next_alarm_at() == T0 + 11 * H + 10 * M
    det.shift(timedelta(days=3))
    assert det.next_alarm_at() == T0 + 11 * H + 10 * M + timedelta(days=3)


@pytest.mark.parametrize(("own", "pool", "expected"), [
    ([], [1.0, 2.0, 50.0], 50.0),  # nothing known of this source: the pool's tail
    ([1.0] * 200, [1.0] * 95 + [100.0] * 5, 1.0),  # many short gaps earn a short limit
    ([1.0] * 3, [1.0] * 95 + [100.0] * 5, 100.0),  # three are not enough
    ([1.0] * 50 + [30.0], [1.0] * 99 + [100.0], 30.0),  # own longest always covered
])
def test_shrunk_quantile(own: list[float], pool: list[float], expected: float) -> None:
    assert shrunk_quantile(sorted(own), sorted(pool), risk=0.01, weight=1.0) == expected


def test_shrunk_quantile_with_a_kind_prior() -> None:
    pool = [1.0] * 50 + [100.0] * 50  # half of all gaps then are long (naps after closing a door)
    onsets = [1.0] * 50  # but after any opening the closing came within a minute
    assert shrunk_quantile([], pool, risk=0.01, weight=1.0) == 100.0
    assert shrunk_quantile([], pool, risk=0.01, weight=1.0, kind=onsets) == 1.0
    assert shrunk_quantile([], pool, risk=0.01, weight=1.0, kind=onsets[:5]) == 100.0  # too few onsets
    assert shrunk_quantile([30.0], pool, risk=0.01, weight=1.0, kind=onsets) == 30.0  # own still covered


@pytest.mark.parametrize(("source", "kind"), [
    ("P-Bedroom-Bed:ON", "rest"), ("P-Living-Seat:OFF", "other"),
    ("D-Kitchen-Fridge:ON", "onset"), ("E-Microwave:ON", "onset"), ("F-ToiletFlush:ON", "onset"),
    ("M-Bathroom-Basin:ON", "onset"), ("M-Bathroom-Basin:OFF", "other"), ("D-Fridge:OFF", "other"),
    ("X-Frontdoor:ON", "other"), ("pir", "other"), ("button:17", "other"), ("mat:bed", "other"),
    ("Door-Kitchen:ON", "other"),
])
def test_source_kind(source: str, kind: str) -> None:
    assert source_kind(source) == kind


def cupboard_evenings(det: InactivityDetector, days: int) -> datetime:
    """Kitchen cupboards all day; each evening the hall door shut at 20:00 and a 90-minute quiet."""
    day0 = T0.replace(hour=0, minute=0)
    for d in range(days):
        base = day0 + timedelta(days=d)
        for minute in [*range(7 * 60, 20 * 60, 10), *range(21 * 60 + 30, 22 * 60, 10)]:
            det.note(base + timedelta(minutes=minute), "D-Kitchen-Cupboard:ON")
            det.note(base + timedelta(minutes=minute, seconds=20), "D-Kitchen-Cupboard:OFF")
        det.note(base + timedelta(hours=20), "D-Hall-Door:OFF")
    return day0 + timedelta(days=days)


def test_an_onset_keeps_a_short_limit_in_the_evening() -> None:
    det = InactivityDetector(SETTLED, tz=UTC)
    evening = cupboard_evenings(det, 8) + timedelta(hours=21, minutes=40)
    opened, _, basis = det.expectation("D-Kitchen-Cupboard:ON", evening)
    assert basis == "learned" and opened == pytest.approx(60 * 60)  # the closing comes first
    closed, _, _ = det.expectation("D-Kitchen-Cupboard:OFF", evening)
    assert closed > 9 * 3600  # anything else may be the last thing before sleep


def lunch_and_armchair(det: InactivityDetector, days: int) -> datetime:
    """Kitchen all morning, the microwave done at 12:55, two hours in the armchair from 13:00."""
    day0 = T0.replace(hour=0, minute=0)
    for d in range(days):
        base = day0 + timedelta(days=d)
        for minute in range(7 * 60, 12 * 60 + 50, 10):
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
        det.note(base + timedelta(hours=12, minutes=55), "E-Kitchen-Microwave:OFF")
        det.note(base + timedelta(hours=13), "P-Living-Seat:ON")
        det.note(base + timedelta(hours=15), "P-Living-Seat:OFF")
        for minute in range(15 * 60 + 5, 22 * 60, 15):
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
    return day0 + timedelta(days=days)


def test_gaps_while_a_mat_is_occupied_belong_to_the_rest() -> None:
    det = InactivityDetector(Params(early_checks_per_day=0), tz=UTC)  # full limits, no early check
    sit = lunch_and_armchair(det, 8) + timedelta(hours=13)
    det.note(sit, "P-Living-Seat:ON")
    resting = det.next_alarm_at()
    assert resting is not None
    own = det.expectation("E-Kitchen-Microwave:OFF", sit + 5 * M)[0]
    assert resting - sit > timedelta(seconds=own + 600) + 5 * M  # the microwave alone: a short limit
    # The microwave finishing by itself while the resident sits: judged as the rest.
    det.note(sit + 5 * M, "E-Kitchen-Microwave:OFF")
    assert det.last_source == "E-Kitchen-Microwave:OFF"
    assert det.next_alarm_at() == resting + 5 * M
    det.note(sit + 2 * H, "P-Living-Seat:OFF")  # up again: the kitchen's own limits
    det.note(sit + 2 * H + M, "E-Kitchen-Microwave:OFF")
    limit = det.expectation("E-Kitchen-Microwave:OFF", sit + 2 * H + M)[0]
    assert det.next_alarm_at() == sit + 2 * H + M + timedelta(seconds=limit + 600)
    # A mat left ON for a day is stuck, not someone resting.
    det.note(sit + 3 * H, "P-Living-Seat:ON")
    det.note(sit + 20 * H, "E-Kitchen-Microwave:OFF")
    limit = det.expectation("E-Kitchen-Microwave:OFF", sit + 20 * H)[0]
    assert det.next_alarm_at() == sit + 20 * H + timedelta(seconds=limit + 600)


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("07:30", 450), ("23:59", 1439)])
def test_hhmm(text: str, minutes: int) -> None:
    assert hhmm_to_min(text) == minutes


@pytest.mark.parametrize("text", ["24:00", "7h30", "12:60", ""])
def test_hhmm_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        hhmm_to_min(text)


def test_params_from_config_names_the_bad_key() -> None:
    with pytest.raises(ValueError, match="night_start"):
        Params.from_config({"night_start": "25:00"})
    assert Params.from_config({"night_start": "21:30"}).night_start_min == 21 * 60 + 30


def test_sitting_down_on_a_mat_while_presumed_out_is_someone_home() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0 + M, "door:exit", exit_door=True)
    det.note(T0 + 2 * H, "door:exit", exit_door=True)  # comes back...
    det.note(T0 + 2 * H + 2 * M, "P-Living-Seat:ON")  # ...and sits down for the evening: one event
    assert not det.out and det.next_alarm_at() is not None
