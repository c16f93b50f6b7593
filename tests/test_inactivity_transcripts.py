"""What the resident hears around inactivity, asserted in full (issue #25): the check left unanswered
(alarm, said at once), and a visitor's afternoon (no check while the visitor is there; checks resume
after). The hub in-process on a virtual clock, a real mosquitto (tests/scenario.py). TRANSCRIPTS_DIR
writes them to docs/transcripts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import Scenario, assert_chimes, assert_one_voice, save, without_chimes
from support import Broker

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

DOOR = [{"name": "front", "pin": 16, "exit": True}]
CHAIR = [{"name": "armchair", "pin": 20, "place": "chair"}]
WAIT_S = 30.0  # check_wait_s (default 10 min): its minimum, so the broker link idles less in virtual time




def test_inactivity_check_unanswered(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, inactivity={"check_wait_s": WAIT_S})

    async def body(s: Scenario) -> None:
        # Six hours and the wait without any movement, in one step: the check and then the alarm fell
        # due (nominal times), so the virtual clock idles little while the real broker keeps up.
        await s.sim("inactivity", str(6 + (WAIT_S + 15) / 3600))
        s.note("6 hours without any movement; nobody answers")
        await s.heard("inactivity_check")
        await s.event("alarm.inactivity", timeout=WAIT_S + 60)
        await s.heard("inactivity_alarm")
        await s.quiet(1)

    s.run(body)
    save(s, "inactivity-unanswered", "Inactivity check unanswered",
         "Six hours without any movement in the daytime; nobody answers the check within check_wait_s "
         "(here 30 s, shown in one step; 10 min by default): "
         "alarm.inactivity, and the unit says so at once.")
    assert without_chimes(s.transcript()) == [("say", "inactivity_check"), ("event", "alarm.inactivity"),
                                              ("say", "inactivity_alarm")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    check = next(u for u in s.spoken() if u["key"] == "inactivity_check")
    alarm_at = next(t for t, kind in s.sent() if kind == "alarm.inactivity")
    assert check["end"] <= alarm_at < check["end"] + 1.0  # the question first, always; then the alarm
    event = next(e for _, e in s.events if e.type == "alarm.inactivity")
    assert event.data["check_wait_s"] == WAIT_S and event.data["gap_min"] == pytest.approx(6 * 60 + WAIT_S / 60)
    assert [kind for _, kind in s.sent()] == ["alarm.inactivity"]


def test_a_visitors_afternoon(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, doors=DOOR, mats=CHAIR)

    async def body(s: Scenario) -> None:
        await s.sim("mat", "on")
        s.note("the resident sits down in the armchair")
        await s.quiet(120)
        await s.sim("door", "open")
        await s.sim("door", "close")
        s.note("the front door opens while she sits: a visitor comes in")
        assert (await s.hub.status())["inactivity"]["visitor"] is True
        await s.sim("inactivity", "0.9")  # a long chat: no check while someone else is there
        s.note("54 minutes of chatting, nobody moving much")
        assert (await s.hub.status())["inactivity"]["visitor"] is True
        await s.sim("door", "open")
        await s.sim("door", "close")
        s.note("the visitor leaves by the front door")
        assert (await s.hub.status())["inactivity"]["visitor"] is False
        await s.sim("inactivity", "6.05")  # then the afternoon goes silent: checks are back
        s.note("six hours without any movement")
        await s.heard("inactivity_check")
        await s.quiet(5)
        assert (await s.press(17))["outcome"] == "claimed"
        await s.heard("inactivity_ok")
        await s.quiet(6)

    s.run(body)
    save(s, "inactivity-visitor", "A visitor's afternoon",
         "The resident sits in the armchair; the front door opens while she sits (a visitor). Nothing is "
         "asked while the visitor is there; after the visitor leaves, a long silence is checked as usual.")
    assert without_chimes(s.transcript()) == [("say", "inactivity_check"), ("say", "inactivity_ok")]
    assert_one_voice(s.spoken())
    assert s.sent() == []  # no call, no alarm
