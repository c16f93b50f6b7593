"""The early check (issue #25): a short learned threshold to ask "您还好吗？" first; the full limit only
after the resident has just answered one, and none before the routine is learned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.params import Params

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday, 00:00
H = timedelta(hours=1)
M = timedelta(minutes=1)


def busy_days(det: InactivityDetector, days: int) -> datetime:
    """Kitchen every 10 min 07:00-12:00 and 14:00-21:50 (a nap 12:00-14:00), bed at 22:00."""
    for d in range(days):
        base = T0 + timedelta(days=d)
        for minute in [*range(7 * 60, 12 * 60 + 1, 10), *range(14 * 60, 22 * 60, 10)]:
            det.note(base + timedelta(minutes=minute), "pir:kitchen")
        det.note(base + 22 * H, "mat:bed")
    return T0 + timedelta(days=days)


def test_learned_home_is_asked_early_then_alarmed_if_nobody_answers() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    day = busy_days(det, 8)
    at = day + 9 * H
    det.note(at, "pir:kitchen")
    full = det.expectation("pir:kitchen", at)[0]
    check, recheck, alarm = det.tick(at + 12 * H)
    assert (check.kind, recheck.kind, alarm.kind) == ("check", "recheck", "alarm")
    early = (check.at - at).total_seconds()
    assert 60 * 60 <= early < full  # the daytime floor of the early check, well before the full limit
    assert check.limit_s == early and alarm.at == check.at + timedelta(seconds=600)


def test_an_answered_check_waits_for_the_full_limit_next() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    day = busy_days(det, 8)
    at = day + 9 * H
    det.note(at, "pir:kitchen")
    due = det.next_check_at()
    assert due is not None
    (check,) = det.tick(due)
    press = check.at + M
    assert [d.kind for d in det.note(press, "button:17")] == ["answered"]
    full = det.expectation("button:17", press)[0]
    assert det.next_alarm_at() == press + timedelta(seconds=full + 600)
    det.note(press + 5 * M, "pir:kitchen")  # the gap after that is judged early again
    assert det.next_alarm_at() is not None
    assert det.next_alarm_at() - (press + 5 * M) < timedelta(seconds=det.expectation("pir:kitchen", press)[0])


def test_no_early_check_before_the_routine_is_learned_nor_with_no_budget() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0 + 9 * H, "pir:kitchen")
    assert det.next_alarm_at() == T0 + 9 * H + timedelta(hours=6, minutes=10)  # fallback_day_h, then the wait
    off = InactivityDetector(Params(early_checks_per_day=0), tz=UTC)
    on = InactivityDetector(Params(), tz=UTC)
    at = busy_days(off, 8) + 9 * H
    busy_days(on, 8)
    off.note(at, "pir:kitchen")
    on.note(at, "pir:kitchen")
    late, early = off.next_alarm_at(), on.next_alarm_at()
    assert late is not None and early is not None and early < late
    assert late == at + timedelta(seconds=off.expectation("pir:kitchen", at)[0] + 600)
