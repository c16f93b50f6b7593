"""Out of bed at night (`Bedtimes.out_of_bed`, `Routine._up_at_night`): with a bed mat, a silence that
begins off every mat in the night window, after the resident was in bed that night, is judged as by day
against the home's silences off every mat — not against its sleeps, which left a fall in the kitchen
at 03:00 unasked about for 3 h (the early check's night floor) with the full limit near 8 h."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.params import Params

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday, 00:00
H = timedelta(hours=1)
M = timedelta(minutes=1)
# The made-up nights get up at 08:00 sharp, the latest learned morning, so the morning check falls due at
# that very second each day: 11 checks in 16 days, which the ceiling on questions (pacing.py) would count
# against the early check these tests are about. Off here; tests/test_inactivity_pacing.py covers it.
QUIET = Params(checks_per_day_max=0)
BATHROOM = "M-Bathroom-Pir:ON"


def nights(det: InactivityDetector, days: int, bed: str = "P-Bedroom-Bed") -> datetime:
    """Kitchen every 10 min 08:00-20:00, the armchair 20:00-22:58, in bed at 23:00, up at 03:00 for the
    bathroom (back in bed 5 min later), up for the day at 08:00."""
    for d in range(days):
        base = T0 + timedelta(days=d)
        for minute in range(8 * 60, 20 * 60, 10):
            det.note(base + timedelta(minutes=minute), "M-Kitchen-Pir:ON")
        det.note(base + 20 * H, "P-Living-Seat:ON")
        det.note(base + 23 * H - 2 * M, "P-Living-Seat:OFF")
        det.note(base + 23 * H, f"{bed}:ON")
        det.note(base + 27 * H, f"{bed}:OFF")
        det.note(base + 27 * H + 2 * M, BATHROOM)
        det.note(base + 27 * H + 5 * M, f"{bed}:ON")
        det.note(base + 32 * H, f"{bed}:OFF")
    return T0 + timedelta(days=days)


def fall_at_night(det: InactivityDetector, day: datetime, bed: str = "P-Bedroom-Bed",
                  where: str = BATHROOM) -> timedelta:
    """To bed at 23:00, up at 03:00, `where` at 03:02, then nothing: how long until the first question."""
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 23 * H, f"{bed}:ON")
    det.note(day + 27 * H, f"{bed}:OFF")
    det.note(day + 27 * H + 2 * M, where)
    assert det.plan is not None
    return det.plan.check_at - (day + 27 * H + 2 * M)


def test_silent_out_of_bed_at_night_is_asked_within_the_hour_not_at_the_morning() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    assert det.routine.bedtimes.latest(day) is not None  # a bed mat: bedtimes learned
    # After the bathroom, where the resident goes every night: the early check's day floor, not the 3 h
    # night floor that capped it at the full limit (2 h) before.
    assert fall_at_night(det, day) == timedelta(minutes=Params().early_day_min_min)
    # In the kitchen, never visited at night: the prior decides, and every long gap at 01-05 h is a
    # sleep in bed (4 h, 5 h): the first question came at the 3 h night floor and the full limit at
    # 7.9 h before; the home's silences off every mat are minutes long.
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    assert fall_at_night(det, day, where="M-Kitchen-Pir:ON") == timedelta(minutes=Params().early_day_min_min)
    limit, normal, basis = det.expectation("M-Kitchen-Pir:ON", day + 27 * H + 2 * M)
    assert basis == "learned" and limit == Params().night_min_h * 3600  # its full limit: the night's minimum
    assert normal is not None and normal < 3600  # learned from silences off every mat, not from the sleeps


def test_in_bed_or_without_a_bed_mat_the_night_rule_stays() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 23 * H, "P-Bedroom-Bed:ON")
    assert det.plan is not None and det.plan.check_at - (day + 23 * H) > 4 * H  # asleep: the learned sleep
    seat_only = InactivityDetector(QUIET, tz=UTC)  # the same nights on a seat mat: no bed, no bedtime
    day = nights(seat_only, 16, bed="P-Living-Sofa")
    assert seat_only.routine.bedtimes.latest(day) is None
    fall_at_night(seat_only, day, bed="P-Living-Sofa", where="M-Kitchen-Pir:ON")
    assert not seat_only.routine.bedtimes.out_of_bed(day + 27 * H + 2 * M, resting=False)


def test_a_check_asked_after_the_source_at_night_puts_it_back_on_the_night_rule() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    det.routine.note_asked(day - 21 * H, BATHROOM)  # 03:02 last night: asked, and answered
    assert fall_at_night(det, day) > timedelta(minutes=Params().early_day_min_min)


def test_up_before_going_to_bed_tonight_is_not_out_of_bed() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 22 * H + 30 * M, BATHROOM)  # the night window, but not yet in bed tonight
    assert not det.routine.bedtimes.out_of_bed(day + 22 * H + 30 * M, resting=False)
    assert det.routine.bedtimes.out_of_bed(day + 27 * H, resting=False) is False  # still no bed tonight


def test_an_afternoon_nap_in_bed_is_not_tonight_s_sleep() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = nights(det, 16)
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 14 * H, "P-Bedroom-Bed:ON")  # a nap, 14:00-15:00
    det.note(day + 15 * H, "P-Bedroom-Bed:OFF")
    det.note(day + 22 * H + 30 * M, "M-Kitchen-Pir:ON")
    assert not det.routine.bedtimes.out_of_bed(day + 22 * H + 30 * M, resting=False)
    det.note(day + 23 * H, "P-Bedroom-Bed:ON")  # tonight's sleep, then up
    assert det.routine.bedtimes.out_of_bed(day + 27 * H, resting=False)
