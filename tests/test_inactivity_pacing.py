"""The ceiling on questions (hub/detect/inactivity/pacing.py): while the checks asked over the last
`check_window_days` reach `checks_per_day_max` a day, a new gap gets no early check (it waits for its full
limit, which is never withheld); the early check comes back once the questions have aged out. The count
survives a restart (saved with the history)."""

from __future__ import annotations

from datetime import UTC, timedelta

from test_inactivity_early import H, busy_days

from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.pacing import CheckPace
from hub.detect.inactivity.params import Params

D = timedelta(days=1)


def _alarm_after(det: InactivityDetector, at_: object) -> timedelta:
    due = det.next_alarm_at()
    assert due is not None
    return due - at_  # type: ignore[operator]


def test_a_unit_that_asked_too_often_waits_for_the_full_limit_then_asks_early_again() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    day = busy_days(det, 10)
    at = day + 9 * H

    def full(t: object) -> timedelta:
        return timedelta(seconds=det.expectation("pir:kitchen", t)[0] + 600)  # type: ignore[arg-type]

    for k in range(5):  # five questions 11-15 days ago: outside the ten days of history counted
        det.routine.pace.note(day - (11 + k) * D)
    det.note(at, "pir:kitchen")
    assert _alarm_after(det, at) < full(at)  # learned: the early check comes first
    for k in range(5):  # five questions in the last five days: 0.5 a day over ten days of history
        det.routine.pace.note(day - k * D - 3 * H)
    det.note(at + H, "pir:kitchen")
    assert _alarm_after(det, at + H) == full(at + H)  # no early check: the full limit, then the wait
    det.note(at + 2 * H, "mat:bed")  # a rest's limit is not withheld either
    assert _alarm_after(det, at + 2 * H) == timedelta(seconds=det.expectation("mat:bed", at + 2 * H)[0] + 600)


def test_no_ceiling_when_it_is_off() -> None:
    det = InactivityDetector(Params(checks_per_day_max=0), tz=UTC)
    day = busy_days(det, 10)
    for k in range(20):
        det.routine.pace.note(day - k * timedelta(hours=6))
    at = day + 9 * H
    det.note(at, "pir:kitchen")
    assert _alarm_after(det, at) < timedelta(seconds=det.expectation("pir:kitchen", at)[0] + 600)


def test_the_questions_asked_are_counted_and_survive_a_restart() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    day = busy_days(det, 10)
    det.note(day + 9 * H, "pir:kitchen")
    asked = [d for d in det.tick(day + 20 * H) if d.kind == "check"]
    assert len(asked) == 1 and [det.routine.pace.asked[-1]] == [asked[0].at.timestamp()]
    again = InactivityDetector(Params(), tz=UTC)
    again.load(det.to_dict())
    assert list(again.routine.pace.asked) == list(det.routine.pace.asked)


def test_pace_counts_only_its_window_and_skips_rows_it_did_not_write() -> None:
    p = Params(checks_per_day_max=0.5, check_window_days=4)
    pace = CheckPace(p)
    now = busy_days(InactivityDetector(p, tz=UTC), 0) + 30 * D
    pace.load([(now - 5 * D).timestamp(), "x", None, True, (now - D).timestamp()])
    assert len(pace.asked) == 2
    assert not pace.over(now, days_learned=30)  # one in the window of four days: below two
    pace.note(now - 2 * H)
    assert pace.over(now, days_learned=30)  # two: at the ceiling
    assert pace.over(now, days_learned=2)  # a short history counts what it has: two in two days
    assert len(pace.asked) == 2  # the one five days old was pruned when a new one was noted


def test_the_evaluator_says_how_often_the_ceiling_held_early_checks_back() -> None:
    from test_inactivity_recheck import silent_days

    from hub.detect.evaluation.activity_log import parse_log
    from hub.detect.evaluation.inactivity import evaluate
    from hub.detect.evaluation.inactivity_report import format_report

    events = parse_log(silent_days())  # four six-hour silences at midday in ten days: asked on each
    on, off = evaluate(events, Params(), seed=2, injections=50), evaluate(events, Params(checks_per_day_max=0),
                                                                           seed=2, injections=50)
    assert off["early_paused_pct"] == 0 and on["early_paused_pct"] > 0
    assert on["false_checks_per_30d"] <= off["false_checks_per_30d"]
    assert f"paused (ceiling on questions) for {on['early_paused_pct']} % of the gaps" in format_report("x", on)
