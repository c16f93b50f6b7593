"""Acknowledgements in a row: each "社区已收到" names the call or alarm it is about when she has had more
than one open lately; a call alone keeps the plain line (hub.alarms.words)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from scenario import Scenario, save
from support import PREFIX, Broker, HubProcess, Subscriber, online_hub, wait_online, wait_spoken

from hub.alarms.reminders import what_of
from hub.alarms.store import OpenAlarm
from hub.alarms.words import RECENT_S, AckLines, words_of
from voice.library import PromptAudio

pytestmark = pytest.mark.timeout(300)  # virtual time, but espeak renders in real CPU time
BUTTONS = [{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "health"}, {"pin": 22, "kind": "service"}]


def alarm(alarm_id: str, alarm_type: str, opened: float = 0.0, **facts: str) -> OpenAlarm:
    return OpenAlarm(id=alarm_id, type=alarm_type, key=alarm_id, since="", opened=opened, facts=facts)


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
                    "生活服务，社区已收到，工作人员王芳马上联系您", "社区已收到，工作人员王芳马上联系您"]


@pytest.mark.parametrize("kind", ["emergency", "health", "service", "family"])
def test_the_resident_and_the_operator_call_each_kind_by_the_same_name(kind: str) -> None:
    """She heard 服务呼叫 / 家人呼叫 while the button, the console, the duty SMS and the installer's wizard
    said 生活服务 / 亲情联络: an operator reading "亲情联络" back to her named something she never heard."""
    from hub.alarms.sms_form import CALLS
    from hub.cli.event_text import KINDS
    from hub.provision.questions import KIND_ZH

    heard, _ = words_of(alarm("c", "call.raised", kind=kind))
    assert KINDS[kind].split()[0] == CALLS[kind] == KIND_ZH[kind] == heard
    assert len(heard) <= 4  # said in one breath, as 紧急呼叫 and 健康咨询 are


def test_the_installers_test_call_acknowledged_promises_no_call_back(tmp_path: Path, broker: Broker) -> None:
    """The test call of the set-up page or the wizard's live check, acknowledged by the duty desk: she heard
    "社区已收到，工作人员王芳马上联系您", and nobody was going to call. She hears it was the test, received."""
    s = Scenario(tmp_path, broker, buttons=BUTTONS)

    async def body(s: Scenario) -> None:
        s.hub.component("calls").arm_test(60)
        s.note("the installer has told the duty desk and armed the test call")
        test = (await s.press(17))["event_id"]
        await s.quiet(6)
        await s.ack(test)
        await s.heard("test_call_acknowledged_by")
        await s.quiet(RECENT_S + 5)
        real = (await s.press(17))["event_id"]
        await s.quiet(6)
        await s.ack(real)
        await s.heard("call_acknowledged_by")

    s.run(body)
    acks = [(u["key"], u["text"]) for u in s.spoken() if "acknowledged" in u["key"]]
    assert acks == [("test_call_acknowledged_by", "测试呼叫，工作人员王芳已收到，测试成功"),  # the desk's name
                    ("call_acknowledged_by", "社区已收到，工作人员王芳马上联系您")]


def test_a_single_alarm_keeps_its_plain_line() -> None:
    lines = AckLines()
    assert lines.line(alarm("a", "call.raised", kind="emergency"), [], "", 10.0) == ("call_acknowledged", {})
    assert lines.line(alarm("f", "alarm.fire", cause="smoke"), [], "王芳", 10.0) == (
        "alarm_acknowledged_by", {"name": "王芳"})


def test_another_alarm_open_or_closed_lately_makes_it_name_its_alarm() -> None:
    lines = AckLines()
    fire = alarm("f", "alarm.fire", cause="smoke")
    call = alarm("c", "call.raised", kind="emergency")
    assert lines.line(fire, [call], "", 10.0) == ("acknowledged_about", {"what": "烟雾报警", "what_en": "Smoke alarm"})
    lines.closed(call, 10.0)
    key, fields = lines.line(fire, [], "", 10.0 + RECENT_S - 1)
    assert key == "acknowledged_about" and fields["what"] == "烟雾报警"
    assert lines.line(fire, [], "", 10.0 + RECENT_S + 1)[0] == "alarm_acknowledged"  # long ago: plain
    lines.closed(fire, 20.0)  # its own closing does not count
    assert lines.line(fire, [], "", 21.0 + RECENT_S)[0] == "alarm_acknowledged"


SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hhmmss: str) -> float:
    """Wall-clock seconds of a time on 4 March 2025 in Shanghai."""
    return datetime.fromisoformat(f"2025-03-04T{hhmmss}").replace(tzinfo=SHANGHAI).timestamp()


def test_two_of_one_kind_are_told_apart_by_the_minute_raised_or_their_order() -> None:
    lines = AckLines("Asia/Shanghai")
    unit, pendant = alarm("u", "call.raised", at("10:05:10"), kind="emergency"), \
        alarm("p", "call.raised", at("10:07:40"), kind="emergency")
    health = alarm("h", "call.raised", at("10:06:00"), kind="health")
    assert lines.line(pendant, [unit, health], "王芳", 10.0) == ("acknowledged_about_by", {
        "what": "上午十点零七分的紧急呼叫", "what_en": "The 10:07 emergency call", "name": "王芳"})
    assert lines.line(health, [unit, pendant], "", 10.0)[1]["what"] == "健康咨询"  # the only one of its kind
    lines.closed(pendant, 10.0)  # acknowledged a moment ago: the next one still says its time
    assert lines.line(unit, [], "", 20.0)[1] == {"what": "上午十点零五分的紧急呼叫",
                                                 "what_en": "The 10:05 emergency call"}
    same_minute = alarm("s", "call.raised", at("10:05:50"), kind="emergency")
    assert lines.line(same_minute, [unit], "", 20.0)[1] == {"what": "第二个紧急呼叫",
                                                           "what_en": "The second emergency call"}
    assert lines.line(unit, [same_minute], "", 20.0)[1]["what"] == "第一个紧急呼叫"
    assert lines.line(pendant, [], "", 20.0 + RECENT_S + 1)[0] == "call_acknowledged"  # alone again: plain


def test_the_time_a_call_is_named_by_is_said_as_she_says_a_time_of_day() -> None:
    """Two evening calls (the demo's): "晚上七点二十分的紧急呼叫", not the station announcer's "十九点二十分"."""
    lines = AckLines("Asia/Shanghai")
    button, sos = alarm("b", "call.raised", at("19:20:44"), kind="emergency"), \
        alarm("z", "call.raised", at("19:21:00"), kind="emergency")
    assert lines.line(button, [sos], "", 10.0)[1] == {"what": "晚上七点二十分的紧急呼叫",
                                                      "what_en": "The 19:20 emergency call"}
    assert lines.line(sos, [button], "", 10.0)[1]["what"] == "晚上七点二十一分的紧急呼叫"
    night = alarm("n", "call.raised", at("00:10:00"), kind="emergency")
    assert lines.line(night, [button], "", 10.0)[1]["what"] == "凌晨零点十分的紧急呼叫"


def test_two_emergency_calls_are_acknowledged_each_by_its_time(tmp_path: Path, broker: Broker) -> None:
    """The unit's button and the bathroom's, both emergency calls, pressed a minute apart: each "社区已收到"
    says which, by the time it was raised on her clock (09:00 in Shanghai when the scenario starts)."""
    s = Scenario(tmp_path, broker, buttons=[{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "emergency"}])

    async def body(s: Scenario) -> None:
        first = (await s.press(17))["event_id"]
        await s.quiet(70)
        second = (await s.press(27))["event_id"]
        await s.quiet(10)
        await s.ack(second)
        await s.heard("acknowledged_about_by")
        await s.ack(first)
        await s.heard("acknowledged_about_by", count=2)

    s.run(body)
    save(s, "two-emergency-calls-acked", "Two emergency calls, each acknowledged by its time",
         "The resident presses the unit's emergency button, and a minute later the bathroom's. The operator "
         "acknowledges the later one first: each acknowledgement says the time its call was raised.")
    assert [u["text"] for u in s.spoken() if u["key"] != "chime"] == [
        "正在呼叫社区，请稍候", "紧急呼叫，社区暂未确认，正在继续呼叫", "正在呼叫社区，请稍候",
        "上午九点零一分的紧急呼叫，社区已收到，工作人员王芳马上联系您",
        "上午九点的紧急呼叫，社区已收到，工作人员王芳马上联系您"]



def test_two_emergency_calls_waiting_are_reminded_of_each_by_its_time(tmp_path: Path, broker: Broker) -> None:
    """The same two calls, nobody answering: the merged reminder said "两个紧急呼叫，社区暂未确认…", and then
    "上午九点零一分的紧急呼叫，社区已收到" named a call she had never heard named. The reminder names each
    as its ack will."""
    s = Scenario(tmp_path, broker, buttons=[{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "emergency"}])

    async def body(s: Scenario) -> None:
        first = (await s.press(17))["event_id"]
        await s.quiet(70)
        second = (await s.press(27))["event_id"]
        await s.event("call.escalated", call_id=second)
        waiting = len([u for u in s.spoken() if u["key"] == "alarm_reminder"])
        await s.heard("alarm_reminder", count=waiting + 1)  # the second call escalated: one reminder for both
        await s.ack(second)
        await s.heard("acknowledged_about_by")
        await s.ack(first)
        await s.heard("acknowledged_about_by", count=2)

    s.run(body)
    save(s, "two-emergency-calls-reminded", "Two emergency calls waiting, each reminded of by its time",
         "The resident presses the unit's emergency button, and a minute later the bathroom's; nobody answers "
         "either for a minute. The one reminder names both by the time they were raised, as the "
         "acknowledgements then do.")
    reminders = [u["text"] for u in s.spoken() if u["key"] == "alarm_reminder"]
    assert reminders[0] == "紧急呼叫，社区暂未确认，正在继续呼叫"  # alone yet: its plain name
    assert reminders[-1] == ("两个呼叫，上午九点的紧急呼叫和上午九点零一分的紧急呼叫，社区暂未确认，"
                             "正在继续呼叫"), reminders
    acks = [u["text"] for u in s.spoken() if u["key"] == "acknowledged_about_by"]
    assert acks == ["上午九点零一分的紧急呼叫，社区已收到，工作人员王芳马上联系您",
                    "上午九点的紧急呼叫，社区已收到，工作人员王芳马上联系您"]


def test_a_reminder_tells_apart_only_the_calls_that_share_a_kind() -> None:
    lines = AckLines("Asia/Shanghai")
    unit, pendant = alarm("u", "call.raised", at("10:05:10"), kind="emergency"), \
        alarm("p", "call.raised", at("10:07:40"), kind="emergency")
    health = alarm("h", "call.raised", at("10:06:00"), kind="health")
    names = {"u": ("紧急呼叫", "emergency call"), "p": ("紧急呼叫", "emergency call"), "h": ("健康咨询", "health call")}
    told = lines.apart([unit, health, pendant])
    assert set(told) == {"u", "p"}
    assert what_of([told.get(i, names[i]) for i in "uhp"], [names[i] for i in "uhp"]) == (
        "三个呼叫，上午十点零五分的紧急呼叫、健康咨询和上午十点零七分的紧急呼叫",
        "3 alarms (the 10:05 emergency call, health call, the 10:07 emergency call)")

def ack_by_wang(sub: Subscriber, event_id: str) -> None:
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": event_id, "by": "王芳"}))


def test_a_close_before_a_power_cut_still_names_the_next_ack(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]) -> None:
    """Two calls open; the health call is acknowledged (she hears "健康咨询，社区已收到…"); the power goes.
    Back on, the emergency call's ack must not sound like the one she heard a minute ago."""
    hub, sub = online_hub(make_hub, subscriber, "[voice]\nenabled = false\n")
    emergency = hub.sim("press", "--button", "17")["event_id"]
    health = hub.sim("press", "--button", "27")["event_id"]
    ack_by_wang(sub, health)
    assert wait_spoken(hub, "acknowledged_about_by", text="健康咨询"), hub.spoken()
    hub.kill9()
    hub.start()
    assert wait_online(sub, "test-0001"), hub.log_tail()
    ack_by_wang(sub, emergency)
    assert wait_spoken(hub, "acknowledged_about_by"), hub.spoken()
    assert [u["text"] for u in hub.spoken()] == ["紧急呼叫，社区已收到，工作人员王芳马上联系您"]


@pytest.mark.parametrize(("a", "said"), [
    (alarm("1", "call.raised", kind="health"), "健康咨询"), (alarm("2", "call.raised", kind="odd"), "呼叫"),
    (alarm("3", "alarm.fire", cause="rate_of_rise"), "火警"), (alarm("4", "alarm.gas"), "燃气报警"),
    (alarm("5", "alarm.unknown"), "报警")])
def test_the_words_for_each_alarm(a: OpenAlarm, said: str) -> None:
    what, what_en = words_of(a)
    assert what == said and what_en
    text = PromptAudio.text("acknowledged_about", "zh", what=what, what_en=what_en)
    assert text == f"{said}，社区已收到，工作人员马上联系您"
