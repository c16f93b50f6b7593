"""What the resident hears, scenario by scenario, asserted in full: the hub in-process on a virtual
clock (exact timings, however busy the machine: tests/virtual_time.py), a real mosquitto, real
espeak-ng WAVs and a player that takes each WAV's real length (tests/scenario.py).

Each transcript is checked for order (prompts and events), one voice at a time (no overlap) and the
timings that matter to the resident; prompt lengths come from the WAVs, so only relations are pinned.
Set TRANSCRIPTS_DIR to write each transcript as markdown: docs/transcripts/ holds them for installers.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from scenario import Scenario, assert_chimes, assert_one_voice, at, said, save, without_chimes
from support import SIM_FALL, Broker

from hub.speech.questions import ANSWER_HOLD_S
from hub.speech.queue import CHIME_AFTER_IDLE_S
from voice.library import PromptAudio

pytestmark = pytest.mark.timeout(300)  # virtual time, but espeak renders in real CPU time: slow on a loaded machine
EPS = 0.05  # virtual seconds; real time only creeps in while a message crosses the broker








def chimed_before(s: Scenario, u: dict[str, Any]) -> bool:
    spoken = s.spoken()
    i = spoken.index(u)
    return i > 0 and spoken[i - 1]["key"] == "chime" and abs(spoken[i - 1]["end"] - u["start"]) < 1e-6


def test_press_raise_ack(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        pressed = await s.press(17)
        assert pressed["outcome"] == "raised"
        await s.quiet(20)
        await s.ack(pressed["event_id"])
        await s.heard("call_acknowledged_by")
        await s.quiet(2)

    s.run(body)
    save(s, "call-acknowledged", "Press → call → acknowledged",
         "The resident taps the emergency button; 20 s later the duty operator acknowledges (`cmd/ack`).")
    assert without_chimes(s.transcript()) == [("event", "call.raised"), ("say", "call_raising"),
                              ("event", "call.acknowledged"), ("say", "call_acknowledged_by")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    raising, acked = said(s, "call_raising")[0], said(s, "call_acknowledged_by")[0]
    assert at(s, "call.raised") == pytest.approx(0.0, abs=EPS)
    assert raising["start"] - at(s, "call.raised") < 1.0  # the chime, then the words, at once
    assert acked["start"] - at(s, "call.acknowledged") < 1.0
    assert chimed_before(s, raising) and chimed_before(s, acked)
    assert s.hub.speech is not None and all(u["played"] for u in s.spoken())


def test_press_then_cancel(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        pressed = await s.press(27)
        await s.quiet(2)
        held = await s.press(27, hold=3.3)  # pressed again within 10 s and held 3 s: cancel
        assert held["outcome"] == "repeat" and held["after_hold"] == "cancelled"
        assert held["call_id"] == pressed["event_id"]
        await s.heard("call_cancelled")
        await s.quiet(2)

    s.run(body)
    save(s, "call-cancelled", "Press by mistake → cancel",
         "The resident taps the health button, then presses it again within 10 s and holds it 3 s.")
    # The second press's "正在呼叫社区" is already being said: it is not said twice.
    assert without_chimes(s.transcript()) == [("event", "call.raised"), ("say", "call_raising"),
                              ("event", "call.cancelled"), ("say", "call_cancelled")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    cancelled = said(s, "call_cancelled")[0]
    assert cancelled["start"] - at(s, "call.cancelled") < 1.0
    raised = next(e for _, e in s.events if e.type == "call.raised").data
    assert (raised["kind"], raised["button"]) == ("health", 27) and "context" in raised  # and its context card


def test_fall_answered_by_a_press_raises_no_call(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL)

    async def body(s: Scenario) -> None:
        await s.sim("radar", "fall")
        s.note("the radar reports a fall")
        await s.heard("fall_check")
        await s.quiet(3)
        assert (await s.press(17))["outcome"] == "claimed"  # "I'm fine"
        await s.heard("fall_cancelled")
        await s.quiet(6)

    s.run(body)
    save(s, "fall-answered", "Fall → \"I'm fine\" press → no call",
         "The radar reports a fall; after the question the resident taps a call button once.")
    assert without_chimes(s.transcript()) == [("say", "fall_check"), ("event", "fall.cancelled"),
                              ("say", "fall_cancelled")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    check, cancelled = said(s, "fall_check")[0], said(s, "fall_cancelled")[0]
    assert at(s, "fall.cancelled") == pytest.approx(check["end"] + 3.0, abs=0.5)  # the press, 3 s later
    assert cancelled["start"] - at(s, "fall.cancelled") < 1.0
    assert "好的，已取消跌倒报警" in cancelled["text"]


def test_fall_without_answer_alarms_and_says_so_at_once(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL)

    async def body(s: Scenario) -> None:
        await s.sim("radar", "fall")
        s.note("the radar reports a fall")
        await s.event("alarm.fall")
        await s.heard("fall_alarm")
        await s.quiet(2)

    s.run(body)
    save(s, "fall-no-answer", "Fall → no answer → alarm",
         "The radar reports a fall and nobody answers (default [fall] countdown_s = 30, prompt_every_s = 6).")
    cfg = s.config["fall"]
    checks = said(s, "fall_check")
    assert without_chimes(s.transcript()) == [("say", "fall_check")] * len(checks) + [
        ("event", "alarm.fall"), ("say", "fall_alarm")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    # The countdown runs from the END of the first question; each repeat starts (with its chime)
    # `prompt_every_s` after the previous one ended; one still speaking at the deadline is cut off.
    deadline = checks[0]["end"] + cfg["countdown_s"]
    spoken = s.spoken()
    for before, after in itertools.pairwise(checks):
        i = spoken.index(after)
        began = spoken[i - 1]["start"] if spoken[i - 1]["key"] == "chime" else after["start"]
        assert began == pytest.approx(before["end"] + cfg["prompt_every_s"], abs=EPS)
    assert checks[-1]["end"] <= deadline + EPS  # a question still being said at the deadline is cut off
    assert bool(checks[-1].get("cancelled")) == (checks[-1]["end"] == pytest.approx(deadline, abs=EPS))
    assert at(s, "alarm.fall") == pytest.approx(deadline, abs=EPS)
    alarm = said(s, "fall_alarm")[0]
    assert alarm["start"] - at(s, "alarm.fall") < 1.0  # within 1 s of alarm.fall
    event = next(e for _, e in s.events if e.type == "alarm.fall")
    assert event.data["prompts"] == len(checks) and event.data["outcome"] == "no_response"


def test_fire_during_a_call_waits_for_the_end_of_the_sentence(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, calls={"ack_timeout_s": 8.0}, smoke={"poll_s": 0.1})

    async def body(s: Scenario) -> None:
        pressed = await s.press(17)
        await s.speaking("alarm_reminder")  # the call escalated: "紧急呼叫，社区暂未确认，…" begins
        await s.quiet(1.0)  # past its chime, into its first clause
        s.note("smoke in the kitchen")
        await s.sim("smoke", "on")
        await s.heard("sensors_fire_alarm")
        s.note("the smoke clears")
        await s.sim("smoke", "off")
        await s.heard("sensors_fire_cleared")
        await s.ack(pressed["event_id"])
        await s.heard("acknowledged_about_by")  # the fire alarm still waits for its ack: it names the call
        await s.quiet(2)

    s.run(body)
    save(s, "fire-during-a-call", "Fire during an unanswered call",
         "A call goes unanswered for 8 s ([calls] ack_timeout_s = 8 here); as the hub starts reminding, "
         "the smoke alarm goes off: the fire warning waits for the end of the sentence being said, then "
         "breaks in. Later the smoke clears and the operator acknowledges the call.")
    assert without_chimes(s.transcript()) == [
        ("event", "call.raised"), ("say", "call_raising"),
        ("event", "call.escalated"), ("say", "alarm_reminder"), ("event", "alarm.fire"),
        ("say", "sensors_fire_alarm"),
        ("event", "alarm.fire_cleared"), ("say", "sensors_fire_cleared"),
        ("event", "call.acknowledged"), ("say", "acknowledged_about_by")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    assert said(s, "acknowledged_about_by")[0]["text"] == "紧急呼叫，社区已收到，工作人员王芳马上联系您"
    (reminder,) = said(s, "alarm_reminder")
    fire = said(s, "sensors_fire_alarm")[0]
    assert not reminder.get("interrupted") and reminder["text"] == PromptAudio.text(
        "alarm_reminder", "zh", what="紧急呼叫", what_en="")  # whole: never cut inside a sentence
    assert reminder["end"] > at(s, "alarm.fire") and fire["start"] - reminder["end"] < 1.0  # chime, then fire
    # No [smoke] room here: no place named (it used to be "厨房" wherever the detector was, and "打开窗户",
    # which feeds a fire); "已发送到社区" online, the broker has it.
    assert fire["text"] == "检测到烟雾，请马上离开家，随手关门，不要回去，报警已发送到社区"


def test_inactivity_check_answered(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        await s.sim("inactivity", "6.05")  # a morning without any movement
        s.note("6 hours without any movement")
        await s.quiet(5)
        assert (await s.press(17))["outcome"] == "claimed"
        await s.heard("inactivity_ok")
        await s.quiet(6)

    s.run(body)
    save(s, "inactivity-answered", "Inactivity check answered",
         "Six hours without any movement in the daytime; the resident answers the check with a tap.")
    assert without_chimes(s.transcript()) == [("say", "inactivity_check"), ("say", "inactivity_ok")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    check, ok = said(s, "inactivity_check")[0], said(s, "inactivity_ok")[0]
    assert "需要帮助请按住按钮" in check["text"]  # the question says what a long press does
    assert ok["start"] == pytest.approx(check["end"] + 5.0, abs=0.5)
    assert s.sent() == []  # no call, no alarm


def test_answer_held_or_pressed_twice_still_calls_for_help(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, fall=SIM_FALL, calls={"ack_timeout_s": 300.0})

    async def body(s: Scenario) -> None:
        await s.sim("radar", "fall")
        s.note("the radar reports a fall")
        await s.heard("fall_check")
        held = await s.press(17, hold=ANSWER_HOLD_S + 0.5)  # answers, and held: help
        assert held["outcome"] == "claimed"
        await s.event("call.raised", kind="emergency")
        await s.quiet(30)
        await s.sim("radar", "fall")
        s.note("the radar reports a fall")
        await s.heard("fall_check", count=2)
        assert (await s.press(27))["outcome"] == "claimed"
        await s.quiet(1)
        assert (await s.press(27))["outcome"] == "raised"  # again within 5 s: help
        await s.heard("call_raising", count=2)

    s.run(body)
    assert [kind for _, kind in s.sent()] == ["fall.cancelled", "call.raised", "fall.cancelled", "call.raised"]
    calls = [{k: v for k, v in e.data.items() if k != "context"} for _, e in s.events if e.type == "call.raised"]
    assert calls == [{"kind": "emergency", "button": 17}, {"kind": "health", "button": 27}]
    held_call = at(s, "call.raised")
    assert held_call - at(s, "fall.cancelled") == pytest.approx(ANSWER_HOLD_S, abs=0.1)
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())


def test_call_saved_offline_is_announced_when_delivered(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker)

    async def body(s: Scenario) -> None:
        await s.broker_down()
        s.note("the network is down")
        pressed = await s.press(17)
        await s.heard("call_offline")
        await s.quiet(10)
        s.note("the network is back")
        await s.broker_back(pressed["event_id"])
        await s.heard("call_delivered")
        await s.quiet(2)

    s.run(body)
    save(s, "call-saved-offline", "Call while the network is down",
         "The broker is unreachable when the resident presses; 10 s after the prompt it is back.")
    assert without_chimes(s.transcript()) == [("event", "call.raised"), ("say", "call_offline"),
                              ("say", "call_delivered")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    offline, delivered = said(s, "call_offline")[0], said(s, "call_delivered")[0]
    assert delivered["start"] - offline["end"] >= 10.0 + CHIME_AFTER_IDLE_S - 1.0
    assert "呼叫已送达" in delivered["text"]
