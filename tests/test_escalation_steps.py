"""The escalation chain's pure logic (hub/escalation/steps.py) and its config checks (hub/escalation/schema.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.alarms.sms_form import same_number
from hub.config.loader import ConfigError, validate
from hub.escalation import reach
from hub.escalation import steps as s
from hub.escalation.steps import Progress, Step

DUTY = Step("duty", "社区值班员", ("+8613800138000",), ("+8613800138000", "+8613800138001"), wait_s=120)
FAMILY = Step("family", "女儿", ("+8613900139000",), (), wait_s=300)
CALL_ONLY = Step("neighbour", "邻居王阿姨", (), ("+8613700137000",), wait_s=60)
CHAIN = [DUTY, FAMILY, CALL_ONLY]
AFTER = 120.0
T0 = 1_000_000.0  # the alarm's wall-clock time


def progress(**kw: Any) -> Progress:
    return Progress("a1", "call.raised", T0, "【一键呼】…", **kw)


@pytest.mark.parametrize(("state", "now", "expected"), [
    ({}, T0, s.Wait(T0 + AFTER)),  # not yet: the platform has after_s to acknowledge
    ({}, T0 + AFTER - 0.1, s.Wait(T0 + AFTER)),
    ({}, T0 + AFTER, s.Text(DUTY)),  # the first step's texts first
    ({"done": ["sms"], "step_since": T0 + AFTER}, T0 + AFTER + 1, s.Dial(DUTY, 0, "+8613800138000")),
    ({"done": ["sms", "call:0"], "step_since": T0 + AFTER}, T0 + AFTER + 40, s.Dial(DUTY, 1, "+8613800138001")),
    ({"done": ["sms", "call:0", "call:1"], "step_since": T0 + AFTER}, T0 + AFTER + 60, s.Wait(T0 + AFTER + 120)),
    ({"done": ["sms", "call:0", "call:1"], "step_since": T0 + AFTER}, T0 + AFTER + 120, s.Advance()),
    ({"step": 1}, T0 + 500, s.Text(FAMILY)),  # a step without calls: text, then wait
    ({"step": 1, "done": ["sms"], "step_since": T0 + 500}, T0 + 501, s.Wait(T0 + 800)),
    ({"step": 2}, T0 + 900, s.Dial(CALL_ONLY, 0, "+8613700137000")),  # a step without texts: call at once
    ({"step": 3}, T0 + 2000, s.Exhausted()),
])
def test_next_action(state: dict[str, Any], now: float, expected: s.Action) -> None:
    assert s.next_action(progress(**state), CHAIN, AFTER, now) == expected


def test_a_chain_walked_through_marks_each_action_before_it_is_tried() -> None:
    p, now, seen = progress(), T0 + AFTER, []
    while not isinstance(action := s.next_action(p, CHAIN, AFTER, now), s.Exhausted):
        if isinstance(action, s.Wait):
            now = action.until
        elif isinstance(action, s.Advance):
            s.advance(p)
        else:
            s.mark(p, action, now)
            seen.append((p.step, "sms" if isinstance(action, s.Text) else action.number))
    assert seen == [(0, "sms"), (0, "+8613800138000"), (0, "+8613800138001"), (1, "sms"), (2, "+8613700137000")]
    assert p.reached == [0, 1, 2]
    assert now == T0 + AFTER + 120 + 300 + 60  # each step's wait counts from its first action


def test_progress_survives_its_json_and_a_restart_does_not_repeat_an_action() -> None:
    p = progress()
    s.mark(p, s.Text(DUTY), T0 + AFTER)
    p.reported.append("sms")
    s.mark(p, s.Dial(DUTY, 0, DUTY.call[0]), T0 + AFTER + 2)  # the hub dies during this call
    again = Progress.from_dict(p.as_dict())
    assert again == p
    assert s.next_action(again, CHAIN, AFTER, T0 + AFTER + 5) == s.Dial(DUTY, 1, DUTY.call[1])
    assert s.interrupted(again, CHAIN) == [("call:0", "voice", ["+8613800138000"])]


@pytest.mark.parametrize(("sender", "reached", "who"), [
    ("+8613900139000", [0, 1], FAMILY),
    ("13900139000", [0, 1], FAMILY),  # the network's form of the number, without +86
    ("+8613900139000", [0], None),  # the daughter was not texted yet: her "1" is not an ack of this chain
    ("+8613800138001", [0], DUTY),  # a number the step only called
    ("+8613600136000", [0, 1, 2], None),
])
def test_who_acknowledges_by_sms(sender: str, reached: list[int], who: Step | None) -> None:
    assert s.reached_by(progress(reached=reached), CHAIN, sender, same_number) == who


@pytest.mark.parametrize(("alarm_type", "kind", "worked"), [
    ("call.raised", "emergency", True), ("call.raised", "family", True), ("call.raised", "service", False),
    ("alarm.fall", None, True), ("alarm.fire", None, True), ("power.lost", None, True),
    ("power.battery_low", None, False),
])
def test_which_alarms_are_escalated(alarm_type: str, kind: str | None, worked: bool) -> None:
    assert s.escalated(alarm_type, kind) is worked


# --- config ------------------------------------------------------------------------------------------
GOOD = {"role": "duty", "name": "社区值班员", "sms": ["+8613800138000"], "call": ["+8613800138000"], "wait_s": 120}


def config(steps: list[Any], enabled: bool = True, port: str | None = "/dev/ttyUSB2") -> dict[str, Any]:
    raw: dict[str, Any] = {"escalation": {"enabled": enabled, "steps": steps}}
    if port:
        raw["modem"] = {"port": port}
    return raw


def test_a_good_chain_is_taken() -> None:
    cfg = validate(config([GOOD, {"role": "family", "name": "女儿", "sms": ["13900139000"]}]))
    assert [Step.from_config(raw).wait_s for raw in cfg["escalation"]["steps"]] == [120.0, s.DEFAULT_WAIT_S]


@pytest.mark.parametrize(("steps", "key", "words"), [
    ([{**GOOD, "role": "doctor"}], "escalation.steps[0].role", "'doctor'"),
    ([{**GOOD, "name": ""}], "escalation.steps[0].name", "1 to 12 characters"),
    ([{**GOOD, "name": "社区卫生服务中心值班护士长"}], "escalation.steps[0].name", "社区卫生服务中心值班护士长"),
    ([GOOD, {**GOOD, "sms": ["138-0013-8000"]}], "escalation.steps[1].sms[0]", "'138-0013-8000' is not a phone"),
    ([{**GOOD, "call": "+8613800138000"}], "escalation.steps[0].call", "must be a list"),
    ([{"role": "family", "name": "女儿"}], "escalation.steps[0]", "has no sms and no call"),
    ([{**GOOD, "wait_s": 5}], "escalation.steps[0].wait_s", "from 30 to 3600, got 5"),
    ([{**GOOD, "ring_s": True}], "escalation.steps[0].ring_s", "got True"),
    ([{**GOOD, "phone": "+8613800138000"}], "escalation.steps[0]", "unknown key(s) phone"),
    (["社区值班员"], "escalation.steps[0]", "must be a table"),
    ([], "escalation.steps", "the chain is empty"),
])
def test_a_bad_chain_is_refused_naming_key_and_value(steps: list[Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(config(steps))
    assert caught.value.key == key
    assert words in caught.value.problem


def test_a_chain_needs_the_modem() -> None:
    with pytest.raises(ConfigError) as caught:
        validate(config([GOOD], port=None))
    assert caught.value.key == "modem.port" and "[escalation] is enabled" in caught.value.problem
    assert validate(config([GOOD], enabled=False, port=None))["escalation"]["enabled"] is False


# --- reaching a person (hub/escalation/reach.py) -------------------------------------------------------
class RingingModem:
    """A modem whose callee never picks up: the call lasts until it is cancelled (then "hung up")."""

    def __init__(self, took: list[str] | None = None) -> None:
        self.took, self.hung_up, self.texts = took, False, []

    async def send_sms(self, numbers: list[str], text: str) -> list[str]:
        self.texts.append((numbers, text))
        return numbers if self.took is None else self.took

    async def dial(self, number: str, *, event_id: str | None, ring_s: float, prompt: str | None = None) -> dict:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.hung_up = True
            raise
        return {}


@pytest.mark.parametrize(("took", "outcome", "to"), [
    (None, "sent", ["+8613800138000", "+8613800138001"]),
    (["+8613800138001"], "partly_sent", ["+8613800138001"]),
    ([], "failed", ["+8613800138000", "+8613800138001"]),
])
def test_a_text_reports_whom_the_network_took_it_for(took: list[str] | None, outcome: str, to: list[str]) -> None:
    got = asyncio.run(reach.text(RingingModem(took), ["+8613800138000", "+8613800138001"], "【一键呼】…"))
    assert (got.outcome, got.to) == (outcome, to)
    assert asyncio.run(reach.text(None, ["+8613800138000"], "…")).outcome == "unavailable"


def test_a_call_is_hung_up_once_the_alarm_is_settled_another_way() -> None:
    async def scenario() -> tuple[reach.Outcome, RingingModem]:
        modem, signal, settled = RingingModem(), asyncio.Event(), [False]

        def spawn(name: str, coro: Any) -> asyncio.Task[Any]:
            return asyncio.get_running_loop().create_task(coro, name=name)

        calling = asyncio.ensure_future(reach.call(modem, "+8613800138000", 30, spawn, signal, lambda: settled[0]))
        await asyncio.sleep(0.01)
        assert not calling.done()  # still ringing: nothing has changed
        signal.set()  # an event that settles nothing
        await asyncio.sleep(0.01)
        assert not calling.done()
        settled[0] = True  # the platform acknowledged
        signal.set()
        return await calling, modem

    got, modem = asyncio.run(scenario())
    assert got.outcome == "stopped" and modem.hung_up


@pytest.mark.parametrize(("result", "outcome"), [
    ({"answered": True, "acknowledged": True, "reason": "acknowledged"}, "acknowledged"),
    ({"answered": True, "acknowledged": False, "reason": "hung_up"}, "answered"),
    ({"answered": False, "acknowledged": False, "reason": "busy"}, "no_answer"),
    ({"answered": False, "acknowledged": False, "reason": "not_registered"}, "unavailable"),
    ({"answered": False, "acknowledged": False, "reason": "modem_fault"}, "failed"),
])
def test_voice_outcomes(result: dict[str, Any], outcome: str) -> None:
    assert s.voice_outcome(result) == outcome
