"""The evening and the night, read from this home's own nights (`Routine.never_slept_after`): at night
and in the evening before it anything may be the last thing before sleep, so no source earned a full
limit below the longest pooled gap. A source after which, over the learned nights, no sleep (a quiet
of `early_night_min_h` or more begun then) ever started, and no check was asked, is learned as by
day; one a sleep has followed, or any source while fewer than `morning_min_days` sleeps are known,
keeps the night rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.feedback import FeedbackBook
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.routine import Routine
from hub.detect.inactivity.store import Store

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # 00:00
H = timedelta(hours=1)
FRIDGE, BEDROOM = "D-Fridge:OFF", "D-Hall-Bedroomdoor:OFF"


def evenings(days: int = 14) -> Routine:
    """Every evening the fridge at 19:30-21:30 (20 min to the next event each time), then the bedroom
    door at 23:00 and seven hours' sleep."""
    r = Routine(Params(), UTC)
    r.first_seen = T0
    for d in range(days):
        day = T0 + timedelta(days=d)
        for minutes in range(19 * 60 + 30, 21 * 60 + 31, 30):
            r.add_sample(day + timedelta(minutes=minutes), FRIDGE, 20 * 60)
        r.add_sample(day + 23 * H, BEDROOM, 7 * 3600)
    return r


def test_a_source_no_sleep_followed_is_learned_as_by_day_in_the_evening() -> None:
    r = evenings()
    at = T0 + timedelta(days=14, hours=21)
    limit, normal, basis = r.expectation(FRIDGE, at)
    assert basis == "learned" and normal == 20 * 60  # its own gaps, not the night's sleep
    assert limit == Params().day_min_min * 60  # 20 min x 1.5 + 30 min
    assert r.expectation(BEDROOM, at)[1] == 7 * 3600  # the sleep still follows the bedroom door


def test_too_few_nights_learned_keep_the_night_rule() -> None:
    assert evenings(days=14).never_slept_after(FRIDGE, 0.0)
    assert not evenings(days=4).never_slept_after(FRIDGE, 0.0)  # 4 sleeps: fewer than morning_min_days


def test_a_check_asked_after_the_source_late_keeps_the_night_rule_and_is_kept() -> None:
    r = evenings()
    at = T0 + timedelta(days=14, hours=21)
    r.note_asked(at - timedelta(days=1, hours=9), FRIDGE)  # by day (12:00): says nothing about sleep
    assert r.expectation(FRIDGE, at)[1] == 20 * 60
    r.note_asked(at - timedelta(days=1), FRIDGE)  # an answered check ends the gap at the press
    assert r.expectation(FRIDGE, at)[1] == 7 * 3600
    again = Routine(Params(), UTC)
    again.load(r.to_dict())
    assert again.expectation(FRIDGE, at)[1] == 7 * 3600


def test_the_detector_asks_within_the_hour_after_the_fridge_at_nine_in_the_evening() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.restart(T0)
    for d in range(14):
        day = T0 + timedelta(days=d)
        det.note(day + 8 * H, "M-Kitchen-pir:ON")
        for minutes in range(19 * 60 + 30, 21 * 60 + 31, 30):
            det.note(day + timedelta(minutes=minutes), FRIDGE)
            det.note(day + timedelta(minutes=minutes + 20), "M-Kitchen-pir:ON")
        det.note(day + 23 * H, BEDROOM)
    at = T0 + timedelta(days=14, hours=21)
    det.note(at, FRIDGE)
    assert det.plan is not None and det.plan.check_at - at <= H
    det.note(at + 10 * timedelta(minutes=1), BEDROOM)
    assert det.plan is not None and det.plan.check_at - at > 3 * H  # the night's rule after the bedroom door


def test_the_checks_asked_late_survive_a_restart(tmp_path: Path) -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.routine = evenings()
    at = T0 + timedelta(days=14, hours=21)
    det.routine.note_asked(at - timedelta(days=1), FRIDGE)
    assert Store(tmp_path).save(det)
    again = InactivityDetector(Params(), tz=UTC)
    Store(tmp_path).load(again, FeedbackBook("hub"))
    assert again.routine.expectation(FRIDGE, at)[1] == 7 * 3600
    assert not again.routine.never_slept_after(FRIDGE, 0.0)
