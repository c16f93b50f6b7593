"""Community rules per home (issue #25): too long in one room by time of day, not up by a morning
time, out at night and not back; each asks first and alarms if unanswered; config errors name the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.config.loader import ConfigError, validate
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.params import Params
from hub.detect.inactivity.rules import Rule, places, rules_from_config

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # Monday 00:00 (the detector's zone: UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
BATH = Rule("dwell", "bathroom", day_max_s=4 * 3600, night_max_s=40 * 60)


def test_room_words_of_a_sensor_name() -> None:
    assert places("M-Bathroom-Basin:ON") == {"bathroom", "basin"}
    assert places("D-door-bathroom:OFF") == {"door", "bathroom"}
    assert places("pir") == set() and places("button:17") == set()


def test_bathroom_at_night_asks_after_40_minutes_then_alarms() -> None:
    det = InactivityDetector(Params(), tz=UTC, rules=(BATH,))
    det.note(T0 + 2 * H, "M-Bathroom-Basin:ON")  # 02:00
    check, recheck, alarm = det.tick(T0 + 4 * H)
    assert (check.kind, check.reason, check.at) == ("check", "dwell", T0 + 2 * H + 40 * M)
    assert (recheck.kind, recheck.reason, recheck.at) == ("recheck", "dwell", T0 + 2 * H + 45 * M)
    assert (alarm.kind, alarm.reason, alarm.at) == ("alarm", "dwell", T0 + 2 * H + 50 * M)
    # By day the same room may take 4 h; a press answers the check.
    day = InactivityDetector(Params(), tz=UTC, rules=(BATH,))
    day.note(T0 + 10 * H, "M-Bathroom-Basin:ON")
    (check,) = day.tick(T0 + 14 * H + M)
    assert (check.reason, check.at) == ("dwell", T0 + 14 * H)
    assert [d.kind for d in day.note(T0 + 14 * H + 2 * M, "button:17")] == ["answered"]
    # Activity elsewhere is not a stay in the bathroom: the ordinary limit applies.
    other = InactivityDetector(Params(), tz=UTC, rules=(BATH,))
    other.note(T0 + 2 * H, "M-Kitchen-Cooktop:ON")
    assert all(d.reason == "gap" for d in other.tick(T0 + 20 * H))


def test_not_up_by_nine() -> None:
    det = InactivityDetector(Params(), tz=UTC, rules=(Rule("not_up_by", at_min=9 * 60),))
    det.note(T0 + 22 * H, "P-Bedroom-Bed:ON")  # in bed at 22:00 on Monday
    check, _, alarm = det.tick(T0 + 34 * H)
    assert (check.reason, check.at) == ("not_up_by", T0 + 33 * H)  # Tuesday 09:00
    assert alarm.at == T0 + 33 * H + 10 * M
    # Up at 07:00: no not-up check that day (the next one is Wednesday's).
    up = InactivityDetector(Params(), tz=UTC, rules=(Rule("not_up_by", at_min=9 * 60),))
    up.note(T0 + 31 * H, "M-Kitchen-Cooktop:ON")
    assert up.plan is not None and up.plan.reason == "gap"


def test_out_at_night_and_not_back() -> None:
    rule = Rule("out_at_night", at_min=23 * 60)
    det = InactivityDetector(Params(), tz=UTC, rules=(rule,))
    det.note(T0 + 15 * H, "M-Hall-Pir:ON")
    det.note(T0 + 15 * H + M, "X-Entrance-Door:ON", exit_door=True)  # out at 15:01
    assert det.out
    check, _, alarm = det.tick(T0 + 24 * H)
    assert (check.reason, check.at, alarm.at) == ("out_at_night", T0 + 23 * H, T0 + 23 * H + 10 * M)
    # Leaving at 23:30: asked an hour later if not back.
    late = InactivityDetector(Params(), tz=UTC, rules=(rule,))
    late.note(T0 + 23 * H, "M-Hall-Pir:ON")
    late.note(T0 + 23 * H + 30 * M, "X-Entrance-Door:ON", exit_door=True)
    (check, _, _) = late.tick(T0 + 26 * H)
    assert check.at == T0 + 24 * H + 30 * M
    # Without the rule, out is out: nothing is asked.
    free = InactivityDetector(Params(), tz=UTC)
    free.note(T0 + 15 * H + M, "X-Entrance-Door:ON", exit_door=True)
    assert free.tick(T0 + 30 * H) == []


RAW = {"hub": {"id": "t"}, "mqtt": {"host": "localhost"}}


def test_config_reads_rules_and_names_mistakes() -> None:
    cfg = validate({**RAW, "doors": [{"name": "front", "pin": 16, "exit": True}], "inactivity_rules": [
        {"kind": "dwell", "place": "Bathroom", "night_max_min": 40},
        {"kind": "not_up_by", "at": "09:30"}, {"kind": "out_at_night", "at": "23:00"}]})
    rules = rules_from_config(cfg["inactivity_rules"])
    assert [r.kind for r in rules] == ["dwell", "not_up_by", "out_at_night"]
    assert rules[0].place == "bathroom" and rules[0].day_max_s == 240 * 60 and rules[1].at_min == 570


@pytest.mark.parametrize(("rule", "key", "problem"), [
    ({"kind": "dwell"}, "inactivity_rules[0].place", "needs the room"),
    ({"kind": "out_at_night"}, "inactivity_rules[0].kind", "exit door"),
    ({"kind": "not_up_by", "at": "09h30"}, "inactivity_rules[0].at", "HH:MM"),
    ({"kind": "sleep"}, "inactivity_rules[0].kind", "dwell"),
    ({"kind": "dwell", "place": "bathroom", "night_max_min": 1}, "inactivity_rules[0].night_max_min", ""),
])
def test_rule_mistakes_are_named_for_the_installer(rule: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate({**RAW, "inactivity_rules": [rule]})
    assert key in str(err.value) and problem in str(err.value)
