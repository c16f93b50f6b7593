"""Who an SMS reply acknowledges, on the component with the modem model on a real pty: only "1" (or "1#CODE")
from the full number an alarm was texted to; one "1" acknowledges the most recent alarm texted to that
number, and only within its window; "1#CODE" the alarm it names; a stranger's "1" and free text are
events for the platform (sms.refused, sms.received), with the sender masked, never acknowledgements."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeHub
from schemas import assert_valid
from test_cellular_robust import DUTY, alarm, config, fake, run, until

from drivers.fakes.modem import FakeModem
from hub.alarms.sms_form import short_code
from hub.cellular.component import Cellular
from hub.cellular.overdue import ACK_WINDOW_S
from hub.core.events import Event

__all__ = ["fake"]


def envelope(event: Event) -> dict[str, object]:
    return event.envelope("test-0001", 1)


def texted(hub: FakeHub) -> int:
    """SMS the hub has recorded as sent (the model has them a moment before the hub hears +CMGS)."""
    return int((hub.status.get("cellular") or {}).get("sms_sent") or 0)


def acked(hub: FakeHub) -> list[str]:
    return [e.data["call_id"] for e in hub.raised("call.acknowledged")]


@pytest.mark.parametrize("sender", ["+13800138000", "+4413800138000", "BANK13800138000", "+8613700137000"])
def test_a_1_from_a_number_that_only_ends_like_the_duty_number_is_refused(tmp_path: Path, fake: FakeModem,
                                                                           sender: str) -> None:
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        await alarm(hub)
        await until(lambda: fake.state.sent)
        fake.deliver_sms(sender, "1")
        (refused,) = await until(lambda: hub.raised("sms.refused"))
        assert refused.data["reason"] == ("not_a_number" if sender.startswith("BANK") else "stranger")
        assert sender not in refused.data["from"] and refused.data["from"].endswith(sender[-4:])
        assert_valid(envelope(refused))
        assert acked(hub) == [] and hub.alarms.open_alarms()

    run(config(tmp_path), fake, scenario)


def test_one_1_acknowledges_the_newest_alarm_texted_and_1_code_the_one_it_names(tmp_path: Path,
                                                                                  fake: FakeModem) -> None:
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        first = await alarm(hub, 17)
        await until(lambda: texted(hub) == 1)
        hub.clock.advance(60)  # type: ignore[attr-defined]
        second = await alarm(hub, 27)
        await until(lambda: texted(hub) == 2)
        assert f"回复1#{short_code(second)}确认" in fake.state.sent[1][1]
        fake.deliver_sms("13800138000", "１")  # the national form, a full-width 1
        await until(lambda: acked(hub))
        assert acked(hub) == [second]  # not the one texted before it
        fake.deliver_sms(DUTY, "1")  # the newest is acknowledged already: this "1" does not fall to the first
        (refused,) = await until(lambda: hub.raised("sms.refused"))
        assert refused.data["reason"] == "acknowledged_already" and refused.data["event_id"] == second
        assert_valid(envelope(refused))
        assert acked(hub) == [second]
        fake.deliver_sms(DUTY, f" 1#{short_code(first).upper()} ")
        await until(lambda: len(acked(hub)) == 2)
        assert acked(hub) == [second, first]

    run(config(tmp_path), fake, scenario)


def test_free_text_is_forwarded_not_an_acknowledgement(tmp_path: Path, fake: FakeModem) -> None:
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        await alarm(hub)
        await until(lambda: fake.state.sent)
        for text in ("1个小时后才能到，请找别人", "1 收到", "11", "1#"):
            fake.deliver_sms(DUTY, text)
        received = await until(lambda: len(hub.raised("sms.received")) == 4 and hub.raised("sms.received"))
        assert [e.data["text"] for e in received] == ["1个小时后才能到，请找别人", "1 收到", "11", "1#"]
        assert all(e.data["known"] and e.data["from"] == "+86*******8000" for e in received)
        for event in received:
            assert_valid(envelope(event))
        assert acked(hub) == [] and hub.alarms.open_alarms()

    run(config(tmp_path), fake, scenario)


def test_a_1_without_a_code_after_the_window_acknowledges_nothing(tmp_path: Path, fake: FakeModem) -> None:
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        call_id = await alarm(hub)
        await until(lambda: texted(hub) == 1)
        hub.clock.advance(ACK_WINDOW_S + 1)  # type: ignore[attr-defined]
        fake.deliver_sms(DUTY, "1")
        (refused,) = await until(lambda: hub.raised("sms.refused"))
        assert refused.data["reason"] == "nothing_open" and acked(hub) == []
        fake.deliver_sms(DUTY, f"1#{short_code(call_id)}")  # naming it still works
        await until(lambda: acked(hub))
        assert acked(hub) == [call_id]

    run(config(tmp_path), fake, scenario)


def test_a_duty_officer_who_answers_in_words_is_told_once_it_was_no_acknowledgement(tmp_path: Path,
                                                                                     fake: FakeModem) -> None:
    """With the broadband down, "收到，马上到" reaches nobody who could tell the officer it acknowledged
    nothing: the resident kept hearing "社区暂未确认" and the chain went on to the daughter while the officer
    believed the alarm taken. The hub texts back once how to acknowledge; a "1" for an alarm taken already
    is told so. Neither is repeated (an auto-reply cannot start a ping-pong); a stranger is never answered."""
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        call_id = await alarm(hub)
        await until(lambda: texted(hub) == 1)
        code = short_code(call_id)
        fake.deliver_sms(DUTY, "收到，马上到")
        await until(lambda: len(fake.state.sent) == 2)
        hint = f"【一键呼】您的回复没有确认报警#{code}，求助仍在等待处理。确认请只回复1#{code}"
        assert fake.state.sent[1] == (DUTY, hint)
        assert acked(hub) == [] and hub.alarms.open_alarms()
        fake.deliver_sms(DUTY, "好的")  # told once already
        fake.deliver_sms("+8613511112222", "收到")  # a stranger: never answered
        await until(lambda: len(hub.raised("sms.received")) == 3)
        fake.deliver_sms(DUTY, f"1#{code}")
        await until(lambda: acked(hub))
        fake.deliver_sms(DUTY, "1")  # the alarm is taken (by this officer's own 1#CODE)
        await until(lambda: hub.raised("sms.refused"))
        await until(lambda: len(fake.state.sent) == 3)
        assert fake.state.sent[2] == (DUTY, f"【一键呼】报警#{code}已由他人确认或已结束，无需再回复")
        fake.deliver_sms(DUTY, "1")
        fake.deliver_sms(DUTY, "我到了")  # words after the alarm is taken: never "求助仍在等待处理"
        await until(lambda: len(hub.raised("sms.refused")) == 2 and len(hub.raised("sms.received")) == 4)
        assert [to for to, _ in fake.state.sent] == [DUTY, DUTY, DUTY]

    run(config(tmp_path), fake, scenario)
