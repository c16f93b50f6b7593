"""Who an SMS "1" acknowledges among the escalation chains (hub.escalation's answer to hub.cellular.replies),
with the real alarm registry: a bare "1" only the chain that texted the sender last, only while that step
waits (its wait_s); "1#CODE" the chain it names; what the resident hears depends on whether the step's
person comes (`comes = true`), and a duty desk's "1" is "已收到", never "正在赶来帮您"."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fakes import START, FakeHub

from hub.alarms.sms_form import short_code
from hub.cellular import replies
from hub.config.loader import Config, validate
from hub.escalation.component import Escalation
from hub.escalation.steps import Progress

DUTY, DAUGHTER, STRANGER = "+8613800138000", "+8613900139000", "+8613700137000"
T0 = START.timestamp()


def setup(tmp_path: Path) -> tuple[FakeHub, Escalation]:
    config = Config(tmp_path / "hub.toml", validate({
        "hub": {"state_dir": str(tmp_path / "state")}, "modem": {"port": "/dev/ttyUSB2"},
        "escalation": {"enabled": True, "after_s": 120, "steps": [
            {"role": "duty", "name": "社区值班员", "sms": [DUTY], "wait_s": 300},
            {"role": "family", "name": "女儿", "sms": [DAUGHTER], "wait_s": 300, "comes": True}]}}))
    hub = FakeHub(config)
    escalation = Escalation(config)
    escalation._ctx = hub  # type: ignore[assignment]  # its chains set by hand below: no watch running
    return hub, escalation


async def chain(hub: FakeHub, escalation: Escalation, pin: int, step: int, step_since: float) -> str:
    """An open alarm whose chain has texted step `step` at `step_since` (and every step before it)."""
    event = await hub.alarms.open("call.raised", {"kind": "emergency", "pin": pin}, key=f"call{pin}",
                                  facts={"kind": "emergency"})
    escalation._chains[event.id] = Progress(event.id, "call.raised", T0, "【一键呼】…", step=step,
                                            step_since=step_since, done=["sms"], reached=list(range(step + 1)))
    return event.id


def acked(hub: FakeHub) -> list[tuple[str, Any]]:
    return [(e.data["call_id"], e.data["by"]) for e in hub.raised("call.acknowledged")]


def refused(hub: FakeHub) -> list[str]:
    return [e.data["reason"] for e in hub.raised("sms.refused")]


def test_a_1_acknowledges_the_newest_chain_and_1_code_the_one_it_names(tmp_path: Path) -> None:
    hub, escalation = setup(tmp_path)

    async def scenario() -> None:
        first = await chain(hub, escalation, 17, 0, T0 + 120)
        second = await chain(hub, escalation, 27, 0, T0 + 180)
        hub.clock.advance(200)  # type: ignore[attr-defined]
        listen = [escalation._on_sms]
        assert await replies.handle(hub, DUTY, "1", listen) == second  # type: ignore[arg-type]
        assert acked(hub) == [(second, DUTY)]
        assert await replies.handle(hub, DUTY, "1", listen) is None  # type: ignore[arg-type]
        assert refused(hub) == ["acknowledged_already"] and len(acked(hub)) == 1  # never falls to the first
        assert await replies.handle(hub, DUTY, "1#zzzz", listen) is None  # type: ignore[arg-type]  # no such code
        assert refused(hub)[-1] == "unknown_code"
        assert await replies.handle(hub, "13800138000", f"1#{short_code(first)}", listen) == first  # type: ignore[arg-type]
        assert acked(hub) == [(second, DUTY), (first, "13800138000")]

    asyncio.run(scenario())
    # A duty desk's "1" is heard as received; nobody said someone is coming.
    assert [(k, f["name"]) for k, f in hub.prompts if k.startswith("escalation_")] == [
        ("escalation_received", "社区值班员"), ("escalation_received", "社区值班员")]


def test_a_bare_1_after_its_step_s_wait_or_from_a_step_not_reached_acknowledges_nothing(tmp_path: Path) -> None:
    hub, escalation = setup(tmp_path)

    async def scenario() -> None:
        alarm = await chain(hub, escalation, 17, 0, T0 + 120)
        hub.clock.advance(120 + 300 + 1)  # type: ignore[attr-defined]  # the duty step's wait is over
        listen = [escalation._on_sms]
        for sender in (DUTY, DAUGHTER, STRANGER, "+1 380 013 8000", "BANK13800138000"):
            assert await replies.handle(hub, sender, "1", listen) is None  # type: ignore[arg-type]
        assert refused(hub) == ["nothing_open", "nothing_open", "stranger", "stranger", "not_a_number"]
        assert await replies.handle(hub, DUTY, f"1#{short_code(alarm)}", listen) == alarm  # type: ignore[arg-type]
        assert acked(hub) == [(alarm, DUTY)]

    asyncio.run(scenario())


def test_a_family_step_that_comes_is_heard_as_coming(tmp_path: Path) -> None:
    hub, escalation = setup(tmp_path)

    async def scenario() -> None:
        alarm = await chain(hub, escalation, 17, 1, T0 + 400)
        hub.clock.advance(450)  # type: ignore[attr-defined]
        assert await replies.handle(hub, DAUGHTER, "１", [escalation._on_sms]) == alarm  # type: ignore[arg-type]
        assert await replies.handle(hub, DAUGHTER, "1个小时后才能到，请找别人", [escalation._on_sms]) is None  # type: ignore[arg-type]

    asyncio.run(scenario())
    assert [(k, f["name"], bool(f.get("about"))) for k, f in hub.prompts if k.startswith("escalation_")] == [
        ("escalation_coming", "女儿", True)]  # about its alarm (hub.speech.claims checks the ack)
    (received,) = hub.raised("sms.received")
    assert received.data == {"from": "+86*******9000", "known": True, "text": "1个小时后才能到，请找别人"}


def test_sms_from_strangers_reach_the_platform_at_most_20_an_hour(tmp_path: Path) -> None:
    hub, escalation = setup(tmp_path)
    now = [0.0]
    budget = replies.Budget(clock=lambda: now[0])

    async def scenario() -> None:
        for i in range(25):
            await replies.handle(hub, STRANGER, f"广告 {i}", [escalation._on_sms], budget)  # type: ignore[arg-type]
        await replies.handle(hub, DUTY, "谁？", [escalation._on_sms], budget)  # type: ignore[arg-type]  # known: always
        now[0] = 3601.0
        await replies.handle(hub, "BANK13800138000", "1", [escalation._on_sms], budget)  # type: ignore[arg-type]

    asyncio.run(scenario())
    received = hub.raised("sms.received")
    assert [e.data["text"] for e in received] == [f"广告 {i}" for i in range(20)] + ["谁？"]
    assert refused(hub) == ["not_a_number"] and budget.dropped == 5


class TextingModem:
    """The cellular component as the chain uses it: every text taken, no calls (the steps have none)."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    async def send_sms(self, numbers: list[str], text: str) -> list[str]:
        self.texts += [(number, text) for number in numbers]
        return numbers

    def on_sms(self, listener: Any) -> None:
        pass


def test_two_alarms_at_once_tell_the_resident_once_who_is_being_told(tmp_path: Path) -> None:
    """Two calls (a pendant and the pull cord) left alone together: each chain texts the duty desk, but she
    heard "社区还没有回应，正在通知社区值班员" twice six seconds apart. Now once; a chain that reaches the same
    person more than NOTIFY_QUIET_S later is said again."""
    from hub.escalation.component import NOTIFY_QUIET_S

    hub, escalation = setup(tmp_path)
    modem = hub.components["cellular"] = TextingModem()

    async def scenario() -> None:
        for pin in (17, 27):
            await hub.alarms.open("call.raised", {"kind": "emergency", "pin": pin}, key=f"call{pin}",
                                  facts={"kind": "emergency"})
        hub.clock.advance(130)  # type: ignore[attr-defined]
        await escalation.start(hub)  # type: ignore[arg-type]
        while len(modem.texts) < 2:
            await asyncio.sleep(0.01)
        hub.clock.advance(NOTIFY_QUIET_S + 1)  # type: ignore[attr-defined]
        await hub.alarms.open("alarm.fall", {"source": "wearable"}, key="fall", facts={})
        hub.clock.advance(130)  # type: ignore[attr-defined]
        escalation._poke()
        while len(modem.texts) < 3:
            await asyncio.sleep(0.01)
        await escalation.close()
        await hub.cancel_tasks()

    asyncio.run(asyncio.wait_for(scenario(), 20))
    assert [number for number, _ in modem.texts] == [DUTY, DUTY, DUTY]  # everyone still texted
    told = [f["name"] for k, f in hub.prompts if k == "escalation_notifying"]
    assert told == ["社区值班员", "社区值班员"], hub.prompts  # once for the two at once, again for the later one


def test_words_after_the_alarm_is_taken_are_never_answered_with_still_waiting(tmp_path: Path) -> None:
    """The daughter writes "我到了" after the duty desk's "1": her chain still knows her number, but the hub
    must not text her "求助仍在等待处理" about an alarm someone has; while it waits she is told how to ack."""
    hub, escalation = setup(tmp_path)
    told: list[tuple[str, str, str]] = []

    async def tell(sender: str, alarm_id: str, text: str) -> None:
        told.append((sender, alarm_id, text))

    async def scenario() -> None:
        alarm = await chain(hub, escalation, 17, 1, T0 + 400)
        hub.clock.advance(450)  # type: ignore[attr-defined]
        await replies.handle(hub, DAUGHTER, "在路上了", [escalation._on_sms], tell=tell)  # type: ignore[arg-type]
        assert [(who, about) for who, about, _ in told] == [(DAUGHTER, alarm)]
        assert "确认请只回复1#" in told[0][2]
        await hub.alarms.ack(alarm, DUTY, "1", named=False, via="sms")
        await replies.handle(hub, DAUGHTER, "我到了", [escalation._on_sms], tell=tell)  # type: ignore[arg-type]
        assert len(told) == 1

    asyncio.run(scenario())
