"""The daily check-in "报平安": the pure rule, and on a simulated hub (a press in the window raises no
call; a missed check-in with no activity is asked aloud, then checkin.missed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import assert_valid
from support import PREFIX, wait_online

from hub.detect.checkin.schedule import Checkin

DAY = datetime(2024, 3, 4, tzinfo=UTC)
M = timedelta(minutes=1)


def rule() -> Checkin:
    return Checkin(8 * 60, 10 * 60, 900.0, UTC)


def kinds(ds: list) -> list[str]:
    return [d.kind for d in ds]


def test_first_press_in_the_window_is_the_check_in() -> None:
    c = rule()
    assert not c.claims(DAY.replace(hour=7))  # before the window: a press is a call
    at = DAY.replace(hour=8, minute=30)
    assert c.claims(at) and kinds(c.press(at)) == ["ok"]
    assert not c.claims(at + M)  # a second press is a call again
    assert c.tick(DAY.replace(hour=23)) == [] and c.status(DAY.replace(hour=23)) == "done"
    assert c.claims(at + timedelta(days=1))  # the next day has its own window


def test_missed_with_activity_is_only_noted() -> None:
    c = rule()
    c.activity(DAY.replace(hour=9))
    assert c.tick(DAY.replace(hour=12)) == [] and c.status(DAY.replace(hour=12)) == "missed"


def test_missed_and_silent_asks_then_escalates_once() -> None:
    c = rule()
    c.activity(DAY.replace(hour=7, minute=50))  # before the window opened: not a sign since
    ask = c.tick(DAY.replace(hour=10, minute=5))
    assert kinds(ask) == ["ask"] and ask[0].at == DAY.replace(hour=10)
    assert c.claims(DAY.replace(hour=10, minute=5))  # a press now answers the question
    out = c.tick(DAY.replace(hour=11))
    assert kinds(out) == ["missed"] and out[0].at == DAY.replace(hour=10, minute=15)
    assert out[0].last_activity == DAY.replace(hour=7, minute=50)
    assert c.tick(DAY.replace(hour=12)) == [] and not c.claims(DAY.replace(hour=12))


def test_the_question_is_answered_by_any_activity() -> None:
    c = rule()
    c.tick(DAY.replace(hour=10, minute=1))
    assert kinds(c.activity(DAY.replace(hour=10, minute=5))) == ["answered"]
    assert c.tick(DAY.replace(hour=13)) == []


def test_a_window_that_opened_before_the_hub_started_is_not_followed_up() -> None:
    c = Checkin(8 * 60, 10 * 60, 900.0, UTC, since=DAY.replace(hour=9))
    assert c.tick(DAY.replace(hour=11)) == [] and c.status(DAY.replace(hour=11)) == "missed"
    assert kinds(c.tick(DAY.replace(hour=10, minute=1) + timedelta(days=1))) == ["ask"]  # the next day is


def test_away_expects_nothing() -> None:
    c = rule()
    c.away = True
    assert not c.claims(DAY.replace(hour=9)) and c.tick(DAY.replace(hour=13)) == []


def midday_zone() -> str:
    """A time zone in which it is now around noon, so the 08:00-16:00 window is open whenever this runs."""
    offset = 12 - datetime.now(UTC).hour  # -11..12
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"  # POSIX sign: Etc/GMT-8 is UTC+8


CONFIG = '[voice]\nenabled = false\n[checkin]\nenabled = true\nstart = "08:00"\nend = "16:00"\nwait_s = 60\n'


def test_check_in_press_raises_no_call(make_hub, subscriber) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra=CONFIG, hub_extra=f'timezone = "{midday_zone()}"')
    assert wait_online(sub, "test-0001"), hub.log_tail()
    assert hub.status()["checkin"]["state"] == "open"
    hub.sim("press")
    ok = sub.wait_event("checkin.ok", 10)
    assert ok, hub.log_tail()
    assert_valid(ok)
    assert ok["data"] == {"window": "08:00-16:00", "by": "button"}
    assert "checkin_ok" in [u["key"] for u in hub.spoken()]
    assert sub.events("call.raised") == []
    assert hub.status()["checkin"]["state"] == "done"
    hub.sim("press")  # the second press is a call for help as always
    assert sub.wait_event("call.raised", 10), hub.log_tail()
