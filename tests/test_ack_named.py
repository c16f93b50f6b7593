"""Acknowledgements in a row: each "社区已收到" names the call or alarm it is about when she has had more
than one open lately; a call alone keeps the plain line (hub.alarms.words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import Scenario, save
from support import Broker

from hub.alarms.store import OpenAlarm
from hub.alarms.words import RECENT_S, AckLines, words_of
from voice.library import PromptAudio

pytestmark = pytest.mark.timeout(300)  # virtual time, but espeak renders in real CPU time
BUTTONS = [{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "health"}, {"pin": 22, "kind": "service"}]


def alarm(alarm_id: str, alarm_type: str, **facts: str) -> OpenAlarm:
    return OpenAlarm(id=alarm_id, type=alarm_type, key=alarm_id, since="", opened=0.0, facts=facts)


def test_three_calls_acknowledged_in_a_row_each_say_which(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, buttons=BUTTONS)

    async def body(s: Scenario) -> None:
        ids = [(await s.press(pin))["event_id"] for pin in (17, 27, 22)]
        await s.quiet(15)  # the three "正在呼叫社区" said
        for n, event_id in enumerate(ids, 1):
            await s.ack(event_id)
            await s.heard("acknowledged_about_by", count=n)
        await s.quiet(RECENT_S + 5)
        s.note(f"{RECENT_S:g} s later, nothing open: one call alone")
        alone = (await s.press(17))["event_id"]
        await s.quiet(6)
        await s.ack(alone)
        await s.heard("call_acknowledged_by")

    s.run(body)
    save(s, "three-acks-in-a-row", "Three calls acknowledged one after another",
         "The resident presses three call buttons; the operator acknowledges them one by one. Each "
         "acknowledgement names its call; a call acknowledged later, alone, keeps the plain wording.")
    acks = [u["text"] for u in s.spoken() if u["key"] in ("acknowledged_about_by", "call_acknowledged_by")]
    assert acks == ["紧急呼叫，社区已收到，工作人员王芳马上联系您", "健康咨询，社区已收到，工作人员王芳马上联系您",
                    "服务呼叫，社区已收到，工作人员王芳马上联系您", "社区已收到，工作人员王芳马上联系您"]


def test_a_single_alarm_keeps_its_plain_line() -> None:
    lines = AckLines()
    assert lines.line(alarm("a", "call.raised", kind="emergency"), False, "", 10.0) == ("call_acknowledged", {})
    assert lines.line(alarm("f", "alarm.fire", cause="smoke"), False, "王芳", 10.0) == (
        "alarm_acknowledged_by", {"name": "王芳"})


def test_another_alarm_open_or_closed_lately_makes_it_name_its_alarm() -> None:
    lines = AckLines()
    fire = alarm("f", "alarm.fire", cause="smoke")
    assert lines.line(fire, True, "", 10.0) == ("acknowledged_about", {"what": "烟雾报警", "what_en": "Smoke alarm"})
    lines.closed("c", 10.0)
    key, fields = lines.line(fire, False, "", 10.0 + RECENT_S - 1)
    assert key == "acknowledged_about" and fields["what"] == "烟雾报警"
    assert lines.line(fire, False, "", 10.0 + RECENT_S + 1)[0] == "alarm_acknowledged"  # long ago: plain
    lines.closed("f", 20.0)  # its own closing does not count
    assert lines.line(fire, False, "", 21.0 + RECENT_S)[0] == "alarm_acknowledged"


@pytest.mark.parametrize(("a", "said"), [
    (alarm("1", "call.raised", kind="health"), "健康咨询"), (alarm("2", "call.raised", kind="odd"), "呼叫"),
    (alarm("3", "alarm.fire", cause="rate_of_rise"), "火警"), (alarm("4", "alarm.gas"), "燃气报警"),
    (alarm("5", "alarm.unknown"), "报警")])
def test_the_words_for_each_alarm(a: OpenAlarm, said: str) -> None:
    what, what_en = words_of(a)
    assert what == said and what_en
    text = PromptAudio.text("acknowledged_about", "zh", what=what, what_en=what_en)
    assert text == f"{said}，社区已收到，工作人员马上联系您"
