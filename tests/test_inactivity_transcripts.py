"""What the resident hears around inactivity, asserted in full (issue #25): the check left unanswered
(asked again louder, then the alarm, said once sent), answered only at the second question, and a
visitor's afternoon (no check while the visitor is there; checks resume after). The hub in-process
on a virtual clock, a real mosquitto (tests/scenario.py). TRANSCRIPTS_DIR writes them to docs/transcripts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scenario import Scenario, assert_chimes, assert_one_voice, at, said, save, without_chimes
from support import Broker

from voice.audio import loudness

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

DOOR = [{"name": "front", "pin": 16, "exit": True}]
CHAIR = [{"name": "armchair", "pin": 20, "place": "chair"}]
WAIT_S = 30.0  # check_wait_s (default 10 min): its minimum, so the broker link idles less in virtual time
AGAIN_S = 15.0  # recheck_after_s (default 5 min): the second, louder question halfway through the wait


def louder(u: dict[str, Any]) -> float:
    """The voiced level of what was played (dBFS)."""
    return loudness(Path(u["wav"])).level_db




def test_inactivity_check_unanswered(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, inactivity={"check_wait_s": WAIT_S, "recheck_after_s": AGAIN_S})

    async def body(s: Scenario) -> None:
        # Six hours without any movement in one step (the check fell due, nominal time); then the hub's
        # own ticks on the virtual clock ask again and, at the end of the same wait, alarm.
        await s.sim("inactivity", str(6 + 5 / 3600))
        s.note("6 hours without any movement; nobody answers")
        await s.heard("inactivity_check")
        assert (await s.hub.status())["inactivity"]["question"] == 1
        await s.heard("inactivity_recheck", timeout=WAIT_S)
        s.note("asked again, louder; still no answer")
        await s.event("alarm.inactivity", timeout=WAIT_S + 60)
        await s.heard("inactivity_alarm")
        await s.quiet(1)

    s.run(body)
    save(s, "inactivity-unanswered", "Inactivity check unanswered",
         "Six hours without any movement in the daytime; nobody answers the check, nor the second, louder "
         "question recheck_after_s later (here 15 s; 5 min by default), within check_wait_s of the first "
         "(here 30 s; 10 min by default): alarm.inactivity, and the unit says so once it is sent.")
    assert without_chimes(s.transcript()) == [("say", "inactivity_check"), ("say", "inactivity_recheck"),
                                              ("event", "alarm.inactivity"), ("say", "inactivity_alarm")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    check, again = said(s, "inactivity_check")[0], said(s, "inactivity_recheck")[0]
    alarm_at = at(s, "alarm.inactivity")
    assert check["end"] <= again["start"] and again["end"] <= alarm_at  # both questions first, always
    assert louder(again) >= louder(check) + 5  # recheck_volume 200: +6 dB over the hub's 100
    assert s.spoken()[s.spoken().index(again) - 1]["key"] == "chime"  # the chime before it, as before the first
    event = next(e for _, e in s.events if e.type == "alarm.inactivity")
    assert event.data["check_wait_s"] == WAIT_S and event.data["gap_min"] == pytest.approx(6 * 60 + WAIT_S / 60)
    assert [kind for _, kind in s.sent()] == ["alarm.inactivity"]


def test_inactivity_answered_at_the_second_question(tmp_path: Path, broker: Broker) -> None:
    # Two minutes' wait, the second question after 30 s: time to hear it (the hub looks every tick_s,
    # 15 s) and answer it before the alarm would be due.
    s = Scenario(tmp_path, broker, inactivity={"check_wait_s": 120.0, "recheck_after_s": 30.0})

    async def body(s: Scenario) -> None:
        await s.sim("inactivity", str(6 + 5 / 3600))
        s.note("6 hours without any movement; the resident, dozing with the TV on, misses the question")
        await s.heard("inactivity_check")
        await s.heard("inactivity_recheck", timeout=120)
        assert (await s.hub.status())["inactivity"]["question"] == 2
        s.note("the louder second question after the chime wakes her")
        assert (await s.press(17))["outcome"] == "claimed"  # answers it: no call
        await s.heard("inactivity_ok")
        assert (await s.hub.status())["inactivity"]["question"] is None
        await s.quiet(120)  # past the end of the wait: nothing follows

    s.run(body)
    save(s, "inactivity-answered-second", "Inactivity check answered at the second question",
         "Six hours without any movement in the daytime; the resident misses the first question and answers "
         "the second, louder one (after the chime) with a press: no alarm, no call. Here check_wait_s is "
         "2 min and recheck_after_s 30 s (10 and 5 min by default).")
    assert without_chimes(s.transcript()) == [("say", "inactivity_check"), ("say", "inactivity_recheck"),
                                              ("say", "inactivity_ok")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    assert s.sent() == []  # no alarm, no call


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
