"""What the resident hears after a worn-sensor fall, asserted in full (tests/test_voice_scenarios.py's
machinery: the hub in-process on a virtual clock, a real mosquitto, real espeak-ng WAVs): a fall the
wearer got up from (fall.recovered, one question; a press calls), and a slow fall from a chair (the
countdown, then the alarm). TRANSCRIPTS_DIR=docs/transcripts writes them for installers."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import Scenario, assert_chimes, assert_one_voice, at, said, save, without_chimes
from support import SIM_FALL, Broker
from test_voice_scenarios import EPS

from hub.detect.fall.component import RECOVERED_LISTEN_S

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def test_recovered_fall_is_reported_and_a_press_calls(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL)

    async def body(s: Scenario) -> None:
        s.note("the wearer falls, lies 4 s, gets up and walks away")
        got_up = await s.sim("fall", "--how", "got-up")
        assert got_up["outcome"] == "recovered"
        await s.heard("fall_recovered_check")
        await s.quiet(3)
        assert (await s.press(17))["outcome"] == "raised"  # the answer is a call for help
        await s.heard("call_raising")
        await s.quiet(2)

    s.run(body)
    save(s, "fall-recovered", "Fall, got up → reported, asked; a press calls",
         "The worn sensor sees a fall; the wearer gets up within the 10 s post-fall phase and walks away. "
         "No countdown, no alarm: `fall.recovered` for the platform and one question; 3 s after it the "
         "resident presses a call button, which raises the call.")
    assert without_chimes(s.transcript()) == [("event", "fall.recovered"), ("say", "fall_recovered_check"),
                                              ("event", "call.raised"), ("say", "call_raising")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    question = said(s, "fall_recovered_check")[0]
    assert "您刚才是不是摔倒了？需要帮助请按住按钮" in question["text"]
    assert question["start"] - at(s, "fall.recovered") < 1.0
    assert at(s, "call.raised") == pytest.approx(question["end"] + 3.0, abs=0.5)
    recovered = next(e for _, e in s.events if e.type == "fall.recovered").data
    assert recovered["kind"] == "fall" and recovered["impact_g"] > 2 and recovered["descent_s"] < 2


def test_recovered_fall_unanswered_says_nothing_more(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL)

    async def body(s: Scenario) -> None:
        assert (await s.sim("fall", "--how", "got-up"))["outcome"] == "recovered"
        await s.heard("fall_recovered_check")
        await s.quiet(RECOVERED_LISTEN_S + 30)  # past the listening window, and then some
        assert (await s.press(17))["outcome"] == "raised"  # marker: the question is closed, a press is a call

    s.run(body)
    assert without_chimes(s.transcript())[:2] == [("event", "fall.recovered"), ("say", "fall_recovered_check")]
    assert [kind for _, kind in s.sent()] == ["fall.recovered", "call.raised"]  # no alarm.fall in between


def test_slow_fall_from_a_chair_counts_down_and_alarms(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL)

    async def body(s: Scenario) -> None:
        s.note("the wearer slumps out of a chair (2.5 s, a 2.3 g landing) and lies still")
        assert (await s.sim("fall", "--how", "chair"))["suspected"] is True
        await s.event("alarm.fall")
        await s.heard("fall_alarm")
        await s.quiet(2)

    s.run(body)
    save(s, "fall-from-chair", "Slow fall from a chair → no answer → alarm",
         "The worn sensor sees a slow slump out of a chair, a soft landing and stillness; nobody answers "
         "(default [fall] countdown_s = 30, prompt_every_s = 6). A landing this soft is decided once the "
         "wearer has stayed down 30 s past the 10 s post-fall phase (a worn sensor: ~40 s after the slump; "
         "the simulator streams its trace at once, so here the question follows the stream).")
    cfg = s.config["fall"]
    checks = said(s, "fall_check")
    assert len(checks) >= 2
    assert without_chimes(s.transcript()) == [("say", "fall_check")] * len(checks) + [
        ("event", "alarm.fall"), ("say", "fall_alarm")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    assert at(s, "alarm.fall") == pytest.approx(checks[0]["end"] + cfg["countdown_s"], abs=EPS)
    alarm = next(e for _, e in s.events if e.type == "alarm.fall").data
    assert alarm["source"] == "wearable" and alarm["kind"] == "fall" and alarm["outcome"] == "no_response"
    assert alarm["peak_g"] < 3 and alarm["descent_s"] > 1  # soft and slow: the phases, not the impact
