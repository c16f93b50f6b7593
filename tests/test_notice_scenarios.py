"""Notices and reminders as the resident hears them, whole transcripts asserted (tests/scenario.py: the
hub in-process on a virtual clock, a real mosquitto, real espeak-ng WAVs). Set TRANSCRIPTS_DIR to write
them as markdown (docs/transcripts/)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import scenario
from scenario import Scenario, assert_chimes, assert_one_voice, at, said, save, without_chimes
from support import PREFIX, Broker

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]
QUIET = {"inactivity": {"enabled": False}}  # nobody moves for hours in these stories: no "您还好吗"








async def platform_sends(s: Scenario, body: dict[str, Any]) -> None:
    """The platform publishes cmd/notice through the real broker; returns once the hub has taken it."""
    while "notices" not in s.hub._status:  # the board has started (it registers cmd/notice)
        await asyncio_sleep(0.05)
    s.note(f"the platform sends a notice ({body['priority']}, `cmd/notice` {body['id']})")
    before = len(s.hub._status.get("notices", {}).get("pending", []))
    with s.loop.real_time():
        await asyncio_to_thread(s.sub.publish, f"{PREFIX}/{s.hub_id}/cmd/notice", json.dumps(body, ensure_ascii=False))
        for _ in range(6000):  # the check runs espeak-ng: on a busy machine, seconds
            if len(s.hub._status.get("notices", {}).get("pending", [])) > before or any(
                    e.type == "notice.refused" for _, e in s.events):
                return
            await asyncio_sleep(0.01)
    raise AssertionError(f"the hub never took the notice: {s.hub._status.get('notices')} {s.loop.time()}")


async def asyncio_to_thread(*args: Any) -> Any:
    import asyncio
    return await asyncio.to_thread(*args)


async def asyncio_sleep(seconds: float) -> None:
    import asyncio
    await asyncio.sleep(seconds)


def expires(s: Scenario, hours: float) -> str:
    return (s.hub.clock.now() + timedelta(hours=hours)).isoformat()


def test_critical_notice_during_an_open_call_waits_then_plays(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, **QUIET)

    async def body(s: Scenario) -> None:
        pressed = await s.press(17)
        await s.speaking("call_raising")
        await platform_sends(s, {"id": "typhoon-1", "priority": "critical", "confirm": True,
                                 "text": "台风今晚登陆，请关好门窗，不要外出", "expires": expires(s, 6)})
        await s.heard("notice_critical")
        await s.quiet(3)
        # While her call is open a press is about the call, never a confirmation ("正在呼叫社区…")
        assert (await s.press(17))["outcome"] == "repeat"
        await s.heard("call_repeat")
        await s.ack(pressed["event_id"])
        await s.heard("call_acknowledged_by")
        await s.quiet(3)
        assert (await s.press(17))["outcome"] == "claimed"  # now "I heard it": no new call
        await s.heard("notice_confirmed")
        await s.quiet(2)

    s.run(body)
    save(s, "notice-critical-during-call", "Critical notice during an open call → waits, then plays",
         "The resident has just pressed the emergency button; while \"正在呼叫社区\" is being said the platform "
         "sends a critical typhoon notice that asks for a press. It waits for the call's words and is said; her "
         "press while the call is open is about the call; once the operator has acknowledged the call, her "
         "press confirms the notice and raises no new call.")
    assert without_chimes(s.transcript()) == [
        ("event", "call.raised"), ("say", "call_raising"), ("say", "notice_critical"), ("event", "notice.played"),
        ("say", "call_repeat"), ("event", "call.acknowledged"), ("say", "call_acknowledged_by"),
        ("event", "notice.confirmed"), ("say", "notice_confirmed")]
    assert_one_voice(s.spoken())
    assert_chimes(s.spoken())
    raising, notice = said(s, "call_raising")[0], said(s, "notice_critical")[0]
    assert notice["start"] >= raising["end"] and "interrupted" not in raising  # never over the call's words
    assert notice["text"].startswith("紧急通知。台风今晚登陆") and notice["with"] == [["notice_confirm_hint", None]]
    assert [e.type for _, e in s.events].count("call.raised") == 1
    confirmed = next(e for _, e in s.events if e.type == "notice.confirmed").data
    assert confirmed == {"notice_id": "typhoon-1", "priority": "critical", "by": "press", "plays": 1}


def test_info_notice_at_night_is_held_to_the_morning(tmp_path: Path, broker: Broker,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 06:50 in Shanghai: still night for her (her day starts 07:30). Simulated hours cost real minutes (every
    # sensor keeps polling), so the night is its last 40 minutes.
    monkeypatch.setattr(scenario, "START", datetime(2025, 3, 3, 22, 50, tzinfo=UTC))
    s = Scenario(tmp_path, broker, notices={"day_start": "07:30", "day_end": "21:00"}, **QUIET)

    async def body(s: Scenario) -> None:
        await platform_sends(s, {"id": "haircut-1", "priority": "info", "text": "本周六上午社区有免费体检",
                                 "expires": expires(s, 24)})
        await s.quiet(39 * 60)
        assert said(s, "notice_info") == []
        s.note("07:29: nothing said yet")
        await s.heard("notice_info", timeout=600)
        await s.quiet(2)

    s.run(body)
    save(s, "notice-info-at-night", "Info notice at night → held to the morning",
         "At 06:50 the platform sends an info notice; the resident's day is 07:30–21:00 ([notices] day_start, "
         "day_end). It is said at 07:30, not in the night.")
    assert without_chimes(s.transcript()) == [("say", "notice_info"), ("event", "notice.played")]
    (info,) = said(s, "notice_info")
    assert info["start"] == pytest.approx(40 * 60, abs=31)  # 07:30, within one look at the clock
    assert info["text"] == "社区消息。本周六上午社区有免费体检"
    assert s.hub._status["notices"]["pending"] == []  # said once, no confirmation asked: done


def reminder(kind: str, **extra: Any) -> dict[str, Any]:
    return {"reminders": [{"id": "morning", "kind": kind, "times": ["09:01"], "window_min": 30.0,
                           "repeat_min": 10.0, "repeat_max": 3, **extra}], **QUIET}


def test_medication_reminder_confirmed_by_a_press(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, **reminder("medication"))

    async def body(s: Scenario) -> None:
        await s.heard("reminder_medication")
        await s.quiet(20)
        assert (await s.press(27))["outcome"] == "claimed"
        await s.heard("reminder_confirmed")
        await s.quiet(30 * 60)  # no repeat, no missed

    s.run(body)
    save(s, "reminder-confirmed", "Medication reminder → confirmed by a press",
         "At 09:01 the unit reminds her of her morning tablets ([[reminders]]); she takes them and presses the "
         "health button. No call is raised; nothing more is said.")
    assert without_chimes(s.transcript()) == [("say", "reminder_medication"), ("event", "reminder.confirmed"),
                                              ("say", "reminder_confirmed")]
    assert said(s, "reminder_medication")[0]["start"] == pytest.approx(60, abs=1)
    data = next(e for _, e in s.events if e.type == "reminder.confirmed").data
    assert data == {"reminder_id": "morning", "kind": "medication", "due": "2025-03-04T09:01:00+08:00",
                    "said": 1, "by": "press"}
    assert not any(e.type == "call.raised" for _, e in s.events)
    assert_one_voice(s.spoken())


def test_medication_reminder_missed(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, **reminder("medication"))

    async def body(s: Scenario) -> None:
        await s.event("reminder.missed", timeout=40 * 60)
        await s.quiet(2)

    s.run(body)
    save(s, "reminder-missed", "Medication reminder → missed",
         "Nobody answers the 09:01 reminder: it is said three times, 10 minutes apart, and at 09:31, when its "
         "30-minute window closes, reminder.missed goes to the platform.")
    assert without_chimes(s.transcript()) == [("say", "reminder_medication")] * 3 + [("event", "reminder.missed")]
    times = said(s, "reminder_medication")
    assert all(600 <= b["start"] - a["end"] < 602 for a, b in itertools.pairwise(times))  # 10 min (+ its chime)
    assert at(s, "reminder.missed") == pytest.approx(31 * 60, abs=31)
    data = next(e for _, e in s.events if e.type == "reminder.missed").data
    assert data == {"reminder_id": "morning", "kind": "medication", "due": "2025-03-04T09:01:00+08:00",
                    "said": 3, "held": False}


def test_bp_reminder_satisfied_by_a_reading(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, **reminder("measure_bp"))

    async def body(s: Scenario) -> None:
        await s.heard("reminder_measure_bp")
        await s.quiet(60)
        s.note("she measures her blood pressure: 128/82")
        await s.sim("bp", "128", "82", "--pulse", "70")
        await s.event("reminder.confirmed")
        await s.heard("health_bp_reading")
        await s.quiet(30 * 60)

    s.run(body)
    save(s, "reminder-bp-reading", "Blood-pressure reminder → satisfied by the reading",
         "At 09:01 the unit asks her to measure her blood pressure; a minute later the meter's reading arrives. "
         "That confirms the reminder: no press needed, no repeat.")
    assert without_chimes(s.transcript()) == [
        ("say", "reminder_measure_bp"), ("event", "measurement.blood_pressure"), ("event", "reminder.confirmed"),
        ("say", "health_bp_reading")] or without_chimes(s.transcript()) == [
        ("say", "reminder_measure_bp"), ("event", "reminder.confirmed"), ("say", "health_bp_reading")]
    data = next(e for _, e in s.events if e.type == "reminder.confirmed").data
    assert data["by"] == "reading" and data["kind"] == "measure_bp" and data["said"] == 1
    assert len(said(s, "reminder_measure_bp")) == 1
