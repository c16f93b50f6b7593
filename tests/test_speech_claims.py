"""The speech queue's claims (hub.speech.claims) against the alarm registry's facts (hub.alarms.facts), on a
virtual-time loop with WAVs of known shape (tests/test_speech_queue.py's renderer): a claim is said only
once its fact holds, else its offline wording and, once the fact holds, its `then` line; a "pending"
prompt is not said once someone has the alarm; a newer prompt supersedes only prompts about the same
alarm; readings are said in order; reminders merge and back off."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from test_speech_queue import CHIME_S, TEXTS, Renderer
from virtual_time import VirtualTimeLoop

from hub.alarms.facts import AlarmFacts
from hub.alarms.reminders import schedule, what_of
from hub.speech.claims import CLAIM_GRACE_S, CLAIMS, claims
from hub.speech.player import TimedPlayer
from hub.speech.queue import SpeechQueue
from voice.catalogue import catalogue

TEXTS.update({"fall_alarm": "已通知社区，请等待联系", "fall_alarm_offline": "网络中断。报警已保存",
              "alarm_delivered": "报警已送达", "call_offline": "网络中断，呼叫已保存，恢复后发送",
              "health_glucose_reading": "血糖", "health_glucose_low": "血糖低，吃糖",
              "alarm_acknowledged": "社区已收到"})


class World:
    """The alarm facts as the registry keeps them, with the state the test sets."""

    def __init__(self) -> None:
        self.acked: set[str] = set()
        self.online = False
        self.facts = AlarmFacts(lambda ref: ref not in self.acked, lambda: self.online)


def run(tmp_path: Path, body: Callable[[SpeechQueue, World], Coroutine[Any, Any, None]]) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        world = World()
        q = SpeechQueue(Renderer(tmp_path), TimedPlayer(), tmp_path)
        q.facts = world.facts
        worker = asyncio.create_task(q.run())
        await body(q, world)
        worker.cancel()
        return [u for u in q.recent() if u["key"] != "chime"]
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


def test_every_declared_claim_is_known_and_every_unless_is_said_instead_of_a_claim() -> None:
    table = claims()
    assert {c.claims for c in table.values() if c.claims} <= set(CLAIMS)
    for key, claim in table.items():
        assert key in catalogue()
        if claim.unless:
            assert table[claim.unless].claims in ("saved", ""), key  # the offline wording claims no more
    # every alarm kind that tells the resident the community has it has offline wording
    for key in ("sensors_fire_alarm", "sensors_heat_rise_alarm", "sensors_heat_alarm", "sensors_cold_alarm",
                "fall_alarm", "inactivity_alarm", "sensors_power_lost", "health_bp_very_high",
                "health_glucose_very_high", "health_glucose_low", "health_pulse_abnormal", "health_ketone_high"):
        assert table[key].claims == "sent" and table[key].unless, key
    for key in ("sensors_fire_alarm_offline", "sensors_heat_rise_alarm_offline"):  # what to do herself
        assert "幺幺九" in catalogue()[key].zh and "119" in catalogue()[key].en


def test_a_claim_before_its_fact_is_said_offline_and_the_fact_is_said_when_it_comes(tmp_path: Path) -> None:
    async def body(q: SpeechQueue, world: World) -> None:
        world.facts.opened("A", "A", saved=True)
        await q.speak("fall_alarm", about="A")  # offline: no PUBACK, none due
        await asyncio.sleep(5)
        world.facts.delivered("A")  # the broker's PUBACK
        await asyncio.sleep(5)
        await q.speak("fall_alarm", about="A")  # now true
        await asyncio.sleep(1)

    spoken = run(tmp_path, body)
    assert [u["key"] for u in spoken] == ["fall_alarm_offline", "alarm_delivered", "fall_alarm"]
    assert spoken[0]["about"] == "A" and spoken[1]["start"] >= spoken[0]["end"] + 5


def test_a_due_puback_is_waited_for_a_moment_and_an_acked_alarm_hears_no_delivered_line(tmp_path: Path) -> None:
    async def body(q: SpeechQueue, world: World) -> None:
        world.online = True
        world.facts.opened("A", "A", saved=True)
        q.say("fall_alarm", about="A")
        await asyncio.sleep(CLAIM_GRACE_S / 4)
        world.facts.delivered("A")  # in time: the claim is true when said
        await asyncio.sleep(5)
        world.online = False
        world.facts.opened("B", "B", saved=True)
        await q.speak("fall_alarm", about="B")  # not due: the offline wording at once
        world.acked.add("B")  # someone has it before the broker is back: no "已送达" after "社区已收到"
        world.facts.note("B", "received")
        await q.speak("alarm_acknowledged", about="B")
        world.facts.delivered("B")
        await asyncio.sleep(5)

    spoken = run(tmp_path, body)
    assert [u["key"] for u in spoken] == ["fall_alarm", "fall_alarm_offline", "alarm_acknowledged"]
    assert spoken[0]["start"] == pytest.approx(CLAIM_GRACE_S / 4 + CHIME_S, abs=0.05)  # then its chime


def test_a_pending_prompt_is_not_said_once_the_alarm_is_acknowledged(tmp_path: Path) -> None:
    async def body(q: SpeechQueue, world: World) -> None:
        world.facts.opened("A", "A", saved=True)
        q.say("fall_check")  # URGENT, 1.9 s: the reminder waits behind it
        q.say("alarm_reminder", what="紧急呼叫", what_en="Emergency call", about="A")
        q.say("call_raising", about="A")  # "正在呼叫社区" (said once the broker has the call)
        await asyncio.sleep(0.5)
        world.acked.add("A")  # acknowledged by SMS while they waited
        await asyncio.sleep(5)

    assert [u["key"] for u in run(tmp_path, body)] == ["fall_check"]


def test_a_newer_prompt_supersedes_only_prompts_about_the_same_alarm(tmp_path: Path) -> None:
    async def body(q: SpeechQueue, world: World) -> None:
        for ref in ("A", "B"):
            world.facts.opened(ref, ref, saved=True)
        q.say("call_offline", about="A")  # "网络中断，呼叫已保存，恢复后发送"
        await asyncio.sleep(0.6)
        q.say("call_raising", about="B")  # another call: must not cut A's sentence
        q.say("call_cancelled", about="A")  # the same call: drops nothing said, waits its turn
        await asyncio.sleep(8)

    spoken = run(tmp_path, body)
    assert [(u["key"], u["text"]) for u in spoken] == [
        ("call_offline", TEXTS["call_offline"]), ("call_raising", TEXTS["call_raising"]),
        ("call_cancelled", TEXTS["call_cancelled"])]


def test_advice_is_never_said_before_an_older_reading_still_waiting(tmp_path: Path) -> None:
    async def body(q: SpeechQueue, world: World) -> None:
        world.facts.opened("G", "G", saved=True, sent=True)
        q.say("fall_check")  # keeps the readings waiting
        q.say("health_glucose_reading", mmol="6.1")
        q.say("health_glucose_reading", mmol="2.8", then=(("health_glucose_low", {"about": "G"}),))
        await asyncio.sleep(10)

    spoken = run(tmp_path, body)
    assert [u["key"] for u in spoken] == ["fall_check", "health_glucose_reading", "health_glucose_reading"]
    assert "with" not in spoken[1] and spoken[2]["with"] == [["health_glucose_low", "G"]]
    assert spoken[2]["text"] == TEXTS["health_glucose_reading"] + "。" + TEXTS["health_glucose_low"]


def test_reminders_say_which_calls_and_back_off() -> None:
    assert what_of([("紧急呼叫", "emergency call")]) == ("紧急呼叫", "Emergency call")
    assert what_of([("紧急呼叫", "emergency call"), ("健康咨询", "health call")])[0] == "两个呼叫，紧急呼叫和健康咨询"
    three = what_of([("紧急呼叫", "e"), ("健康咨询", "h"), ("生活服务", "s")])[0]
    assert three == "三个呼叫，紧急呼叫、健康咨询和生活服务"
    # the same kind twice: the count and the kinds she hears add up (was "三个呼叫，紧急呼叫、生活服务")
    assert what_of([("紧急呼叫", "emergency call"), ("生活服务", "service call"), ("紧急呼叫", "emergency call")]) == (
        "三个呼叫，两个紧急呼叫和生活服务", "3 alarms (emergency call ×2, service call)")
    assert what_of([("火警", "fire"), ("火警", "fire")])[0] == "两个火警"
    assert schedule(30.0, 600.0) == (30.0, 120.0, 300.0, 600.0)
    assert schedule(1.0, 600.0) == (1.0, 4.0, 10.0, 600.0)
