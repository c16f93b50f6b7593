"""A visitor (issue #25): evidence of a second person pauses inactivity checks and alarms, which
resume when the visitor has gone; a single resident moving about is not a visitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.params import Params
from hub.detect.visitors import Visitors, place_of

T0 = datetime(2024, 3, 4, 14, 0, tzinfo=UTC)
S = timedelta(seconds=1)
M = timedelta(minutes=1)


def test_names_give_kind_and_place() -> None:
    assert place_of("M-Kitchen-Cooktop:ON") == ("M", "kitchen", "ON")
    assert place_of("pir:ON") == ("", "", "ON") and place_of("button:17") == ("", "", "17")


def test_motion_in_two_rooms_within_seconds_is_two_people() -> None:
    v = Visitors()
    assert v.note(T0, "M-Kitchen-Cooktop:ON", False) is None
    assert v.note(T0 + 3 * S, "M-Bathroom-Basin:ON", False) == "arrived" and v.present
    # The same resident walking from the kitchen to the bathroom takes longer than rooms_s.
    w = Visitors()
    assert w.note(T0, "M-Kitchen-Cooktop:ON", False) is None
    assert w.note(T0 + 20 * S, "M-Bathroom-Basin:ON", False) is None and not w.present
    assert w.note(T0 + 21 * S, "M-Bathroom-Shower:ON", False) is None  # same place: one person


def test_motion_while_the_resident_sits_and_the_door_from_outside() -> None:
    v = Visitors()
    v.note(T0, "P-Living-Seat:ON", False)
    v.note(T0 + 5 * M, "M-Kitchen-Cooktop:ON", False)  # someone in the kitchen, the seat still taken ...
    assert not v.present
    assert v.note(T0 + 7 * M, "E-Kitchen-Kettle:ON", False) == "arrived"  # ... a minute later: confirmed
    assert v.last_evidence == T0 + 6 * M
    # Getting up from the seat and walking to the kitchen is one person: the mat goes OFF first.
    w = Visitors()
    w.note(T0, "P-Living-Seat:ON", False)
    w.note(T0 + 5 * M, "M-Kitchen-Cooktop:ON", False)
    w.note(T0 + 5 * M + 10 * S, "P-Living-Seat:OFF", False)
    assert w.tick(T0 + 20 * M) is None and not w.present
    # The exit door opened while the resident has been sitting: opened from outside.
    d = Visitors()
    d.note(T0, "P-Living-Seat:ON", False)
    assert d.note(T0 + 30 * M, "X-Entrance-Door:ON", True) == "arrived"


def test_the_visitor_leaves_by_the_door_or_after_an_hour_without_evidence() -> None:
    v = Visitors()
    v.note(T0, "M-Kitchen-Cooktop:ON", False)
    v.note(T0 + 2 * S, "M-Living-Pir:ON", False)
    assert v.note(T0 + 40 * M, "X-Entrance-Door:ON", True) == "left" and not v.present
    w = Visitors()
    w.note(T0, "M-Kitchen-Cooktop:ON", False)
    w.note(T0 + 2 * S, "M-Living-Pir:ON", False)
    assert w.left_at() == T0 + 2 * S + 60 * M
    assert w.tick(T0 + 59 * M) is None and w.tick(T0 + 61 * M) == "left"


def test_a_visit_pauses_checks_and_alarms_and_they_resume_after() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(T0, "M-Kitchen-Cooktop:ON")
    out = det.note(T0 + 2 * S, "M-Living-Pir:ON")
    assert [d.kind for d in out] == ["visitor_arrived"]
    assert det.plan is None and det.tick(T0 + 30 * M) == []  # nothing is asked while the visitor is here
    left = T0 + 2 * S + 60 * M
    assert det.next_alarm_at() == left + timedelta(hours=6, minutes=10)  # the fallback limit, from the end
    decisions = det.tick(left + M)
    assert [d.kind for d in decisions] == ["visitor_left"] and det.last_source == "visitor:left"
    assert det.last_ts == left and det.plan is not None
    check, recheck, alarm = det.tick(left + 7 * timedelta(hours=1))
    assert (check.kind, recheck.kind, alarm.kind) == ("check", "recheck", "alarm")
    assert check.at == left + timedelta(hours=6)
    # With visitors off (a home whose sensors cannot tell), the same events change nothing.
    off = InactivityDetector(Params(visitors=False), tz=UTC)
    off.note(T0, "M-Kitchen-Cooktop:ON")
    assert off.note(T0 + 2 * S, "M-Living-Pir:ON") == [] and off.plan is not None
