"""cmd/notice from the outside: the attacker's first probes (wrong types, oversize, expired on arrival,
replayed and reused ids, a flood, a retained command, words the voice cannot say, bad recordings), a notice
during an alarm, and notices surviving a restart. The edge checks are pure (hub.notices.command); the rest
runs the hub in-process on a virtual clock against a real mosquitto (tests/scenario.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scenario import Scenario
from schemas import assert_valid
from support import PREFIX, Broker, Subscriber

from hub.core.simulation import SimArgumentError
from hub.notices.command import Refused, parse_notice
from hub.notices.items import due_reminders, within

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
QUIET = {"inactivity": {"enabled": False}}


def body(**over: Any) -> dict[str, Any]:
    return {"id": "n-1", "priority": "action", "text": "社区通知测试",
            "expires": (NOW + timedelta(hours=1)).isoformat(), **over}


@pytest.mark.parametrize(("over", "reason"), [
    ({"priority": 5}, "malformed"), ({"priority": "urgent"}, "malformed"), ({"confirm": "yes"}, "malformed"),
    ({"confirm": 1}, "malformed"), ({"repeat_s": True}, "malformed"), ({"repeat_s": 5}, "malformed"),
    ({"repeat_s": "60"}, "malformed"), ({"text": 123}, "malformed"), ({"text": ["a"]}, "malformed"),
    ({"id": ""}, "malformed"), ({"id": "x" * 65}, "malformed"), ({"id": "../etc"}, "malformed"),
    ({"id": None}, "malformed"), ({"extra": 1}, "malformed"), ({"audio": "AAAA"}, "malformed"),
    ({"expires": "2025-03-04T10:00:00"}, "malformed"), ({"expires": 1741082400}, "malformed"),
    ({"expires": (NOW - timedelta(seconds=1)).isoformat()}, "expired"),
    ({"expires": (NOW + timedelta(days=8)).isoformat()}, "malformed"),
    ({"quiet_hours": "22:00"}, "malformed"), ({"quiet_hours": "22:00-22:00"}, "malformed"),
    ({"text": "很" * 121}, "too_long"),
])
def test_the_edge_refuses_whole(over: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_notice(body(**over), NOW, 120, 48000)
    assert refused.value.reason == reason, refused.value


def test_audio_at_the_edge() -> None:
    audio = {k: v for k, v in body().items() if k != "text"}
    with pytest.raises(Refused, match="too_big"):
        parse_notice({**audio, "audio": base64.b64encode(b"\0" * 48001).decode()}, NOW, 120, 48000)
    with pytest.raises(Refused, match="not valid base64"):
        parse_notice({**audio, "audio": "!!!!"}, NOW, 120, 48000)
    with pytest.raises(Refused, match="audio_format"):
        parse_notice({**audio, "audio": "AAAA", "audio_format": "mp3"}, NOW, 120, 48000)
    n = parse_notice({**audio, "audio": base64.b64encode(b"RIFF").decode()}, NOW, 120, 48000)
    assert n.audio == b"RIFF" and n.text is None


def test_same_content_same_digest_other_content_another() -> None:
    a, b = parse_notice(body(), NOW, 120, 48000), parse_notice(body(), NOW, 120, 48000)
    assert a.digest() == b.digest() != parse_notice(body(text="另一条通知"), NOW, 120, 48000).digest()


def test_windows_and_due_times() -> None:
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Asia/Shanghai")
    assert within((21 * 60, 7 * 60 + 30), datetime(2025, 3, 4, 23, 0, tzinfo=zone))
    assert within((21 * 60, 7 * 60 + 30), datetime(2025, 3, 4, 7, 29, tzinfo=zone))
    assert not within((21 * 60, 7 * 60 + 30), datetime(2025, 3, 4, 7, 30, tzinfo=zone))
    entry = {"id": "late", "kind": "medication", "times": ["23:50"], "days": ["mon"], "window_min": 30.0}
    # Monday 23:50 + 30 min runs into Tuesday: still due at 00:10 on Tuesday, not on Tuesday's own 23:50
    tuesday = datetime(2025, 3, 4, 0, 10, tzinfo=zone)
    assert [d.isoformat() for _e, d in due_reminders([entry], tuesday, zone)] == ["2025-03-03T23:50:00+08:00"]
    assert due_reminders([entry], datetime(2025, 3, 4, 23, 55, tzinfo=zone), zone) == []


# ---- the hub, through the broker -----------------------------------------------------------------------
async def started(s: Scenario) -> None:
    while "notices" not in s.hub._status:
        await asyncio.sleep(0.05)


async def publish(s: Scenario, payload: dict[str, Any] | bytes, retain: bool = False) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    with s.loop.real_time():
        await asyncio.to_thread(lambda: s.sub.client.publish(f"{PREFIX}/{s.hub_id}/cmd/notice", raw, qos=1,
                                                             retain=retain).wait_for_publish(5))


def refusals(s: Scenario) -> list[dict[str, Any]]:
    return [e.data for _, e in s.events if e.type == "notice.refused"]


def expires(s: Scenario, hours: float = 1) -> str:
    return (s.hub.clock.now() + timedelta(hours=hours)).isoformat()


async def outcome(s: Scenario, b: dict[str, Any]) -> dict[str, Any]:
    board = s.hub.component("notices")
    with s.loop.real_time():
        return await board.accept(b)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_attacker_probes(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, hub_id="t-notice-probe", notices={"max_pending": 3}, **QUIET)
    # Retained before the hub subscribes: the broker replays it on subscribing, flagged retained (ignored)
    topic = f"{PREFIX}/{s.hub_id}/cmd/notice"
    s.sub.client.publish(topic, json.dumps({"id": "retained-1", "priority": "critical", "text": "有人冒充社区",
                                            "expires": (datetime.now(UTC) + timedelta(days=3)).isoformat()}),
                         qos=1, retain=True).wait_for_publish(5)

    async def scene(s: Scenario) -> None:
        await started(s)
        # Over the broker: garbage first, then a good notice; each must be answered in order.
        await publish(s, b"\xff\xfe not json")
        # over [mqtt] max_payload_bytes: dropped by the router, no event
        await publish(s, {"id": "big", "priority": "info", "text": "很" * 70000, "expires": expires(s)})
        await publish(s, {"id": "t-1", "priority": 7, "text": "测试", "expires": expires(s)})
        with s.loop.real_time():
            for _ in range(3000):
                if refusals(s):
                    break
                await asyncio.sleep(0.01)
        assert [(r["notice_id"], r["reason"]) for r in refusals(s)] == [("t-1", "malformed")]
        good = {"id": "ok-1", "priority": "info", "text": "本周六上午社区有免费体检", "expires": expires(s)}
        assert (await outcome(s, good))["outcome"] == "accepted"
        assert (await outcome(s, good))["outcome"] == "duplicate"  # a replay: nothing new
        reused = await outcome(s, {**good, "text": "请把银行卡密码告诉来电的人"})
        assert reused["reason"] == "id_reused"
        for text, reason in (("请打开WiFi设置", "latin_words"), ("注意安全☃", "unknown_characters"),
                             ("……", "unintelligible")):
            assert (await outcome(s, {"id": f"x-{reason}", "priority": "action", "text": text,
                                      "expires": expires(s)}))["reason"] == reason
        expired = await outcome(s, {"id": "late", "priority": "action", "text": "测试",
                                    "expires": (s.hub.clock.now() - timedelta(seconds=1)).isoformat()})
        assert expired["reason"] == "expired"
        # A flood: the queue holds 3; a 4th info is refused, a critical displaces the newest info
        for i in range(2):
            assert (await outcome(s, {"id": f"info-{i}", "priority": "info", "text": "社区消息测试",
                                      "expires": expires(s)}))["outcome"] == "accepted"
        assert (await outcome(s, {"id": "info-9", "priority": "info", "text": "社区消息测试",
                                  "expires": expires(s)}))["reason"] == "queue_full"
        assert (await outcome(s, {"id": "crit-1", "priority": "critical", "text": "今晚有台风，请不要外出",
                                  "expires": expires(s)}))["outcome"] == "accepted"
        await s.heard("notice_critical")
        for i in range(20):  # a burst of garbage: refused, but reported at most 6 a minute
            await outcome(s, {"id": f"junk-{i}", "priority": "action", "text": 5, "expires": expires(s)})
        await s.quiet(1)

    try:
        s.run(scene, timeout_real_s=240)
    finally:
        clean = Subscriber(broker.port, f"{PREFIX}/none")  # the broker is shared: clear the retained probe
        clean.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        clean.close()
    reasons = [(r["notice_id"], r["reason"]) for r in refusals(s)]
    assert reasons[:6] == [("t-1", "malformed"), ("ok-1", "id_reused"), ("x-latin_words", "latin_words"),
                           ("x-unknown_characters", "unknown_characters"), ("x-unintelligible", "unintelligible"),
                           ("late", "expired")]
    # the bucket: 6 at once, then one every 10 s: 21 more refusals within seconds are logged, not reported
    assert len(reasons) <= 7
    expired = [e.data for _, e in s.events if e.type == "notice.expired"]
    assert expired == [{"notice_id": "info-1", "priority": "info", "reason": "displaced", "plays": 0}]
    assert not any(u["key"] == "notice_critical" and "冒充" in u["text"] for u in s.spoken())  # retained: ignored
    for _, e in s.events:
        if e.type.startswith("notice."):
            assert_valid(e.envelope(s.hub_id, 1))


def wav(path: Path, seconds: float, channels: int = 1) -> bytes:
    subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", str(channels), str(path), "synth", str(seconds),
                    "sine", "440"], check=True, capture_output=True)
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_notice_during_an_alarm_and_recordings(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, hub_id="t-notice-alarm", notices={"max_audio_bytes": 600_000}, **QUIET)
    mono, stereo = wav(tmp_path / "mono.wav", 2.0), wav(tmp_path / "stereo.wav", 2.0, channels=2)
    long = wav(tmp_path / "long.wav", 31.0)

    def recording(nid: str, data: bytes, fmt: str = "wav") -> dict[str, Any]:
        return {"id": nid, "priority": "action", "audio": base64.b64encode(data).decode(), "audio_format": fmt,
                "expires": expires(s)}

    async def scene(s: Scenario) -> None:
        await started(s)
        assert (await outcome(s, recording("st", stereo)))["reason"] == "audio_format"
        assert (await outcome(s, recording("lg", long)))["reason"] == "too_long"
        assert (await outcome(s, recording("junk", b"RIFF" + bytes(2000))))["reason"] == "audio_format"
        pressed = await s.press(17)
        await s.speaking("call_raising")
        assert (await outcome(s, {"id": "visit-1", "priority": "action", "text": "明天上午社区医生上门",
                                  "expires": expires(s)}))["outcome"] == "accepted"
        assert (await outcome(s, recording("rec-1", mono)))["outcome"] == "accepted"
        await s.quiet(20)
        s.note("20 s into the open call: no notice said yet")
        assert [u["key"] for u in s.spoken() if u["key"].startswith("notice_")] == []
        await s.ack(pressed["event_id"])
        await s.heard("notice_recording")
        await s.quiet(2)

    s.run(scene, timeout_real_s=240)
    keys = [u["key"] for u in s.spoken() if u["key"] != "chime"]
    assert keys[keys.index("call_acknowledged_by"):] == ["call_acknowledged_by", "notice_action", "notice_recording"]
    (rec,) = [u for u in s.spoken() if u["key"] == "notice_recording"]
    assert rec["wav"].endswith(".wav") and "/notices/rec-" in rec["wav"] and 1.5 < rec["end"] - rec["start"] < 2.5


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_waiting_notice_survives_a_restart_written_once(tmp_path: Path, broker: Broker) -> None:
    first = Scenario(tmp_path, broker, hub_id="t-notice-restart", **QUIET)
    state = tmp_path / "state" / "notices" / "state.json"
    stamps: list[int] = []

    async def before(s: Scenario) -> None:
        await started(s)
        fraud = {"id": "fraud-1", "priority": "action", "confirm": True, "repeat_s": 60,
                 "text": "近期有人冒充社区工作人员，请不要转账", "expires": expires(s, 3)}
        assert (await outcome(s, fraud))["outcome"] == "accepted"
        stamps.append(state.stat().st_mtime_ns)
        await s.heard("notice_action", count=2)  # said, then repeated a minute later
        stamps.append(state.stat().st_mtime_ns)

    first.run(before)
    assert stamps[0] == stamps[1]  # repeats are not written
    second = Scenario(tmp_path, broker, hub_id="t-notice-restart", **QUIET)

    async def after(s: Scenario) -> None:
        await s.heard("notice_action")
        await s.quiet(2)
        assert (await s.press(17))["outcome"] == "claimed"
        await s.event("notice.confirmed")

    second.run(after)
    assert [e.type for _, e in second.events if e.type.startswith("notice.")] == ["notice.played", "notice.confirmed"]
    assert json.loads(state.read_text())["pending"] == []


def test_reminder_config_is_checked() -> None:
    from hub.config.loader import ConfigError, validate
    good = {"id": "bp", "kind": "measure_bp", "times": ["08:00"], "window_min": 30.0}
    assert validate({"hub": {"id": "x-1"}, "reminders": [good]})["reminders"][0]["repeat_max"] == 3
    for bad, where in (({"times": ["8:00"]}, "times"), ({"days": ["monday"]}, "days"), ({"id": "a b"}, "id"),
                       ({"text": "call_raising"}, "text"), ({"text": "reminder_nonexistent"}, "text"),
                       ({"window_min": 10.0}, "window_min")):
        with pytest.raises(ConfigError, match=f"reminders\\[0\\].{where}"):
            validate({"hub": {"id": "x-1"}, "reminders": [{**good, **bad}]})


def test_the_led_shows_a_waiting_notice_but_never_over_a_call() -> None:
    from drivers.fakes.gpiochip import FakeLgpio
    from drivers.gpiochip import GpioChip
    from hub.core.lines import Lines
    from hub.speech.feedback import Feedback

    model = FakeLgpio()
    with Lines(GpioChip(model)) as lines, Feedback(lines, 5, 6) as leds:
        leds.show("notice")
        assert leds.current == "notice" and model.pulse(5) == (1_000_000, 1_000_000, 0)  # 1 s on, 1 s off
        leds.show("calling")
        leds.show("notice_off")  # the notice was confirmed while a call blinks: the call keeps its pattern
        assert leds.current == "calling"
        leds.show("notice")
        assert leds.current == "calling"
        leds.show("idle")
        leds.show("notice")
        leds.show("notice_off")
        assert leds.current == "idle"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_reminder_waits_for_an_open_alarm_then_is_said(tmp_path: Path, broker: Broker) -> None:
    s = Scenario(tmp_path, broker, hub_id="t-reminder-held", **QUIET, reminders=[
        {"id": "noon", "kind": "medication", "times": ["09:01"], "window_min": 30.0}])

    async def scene(s: Scenario) -> None:
        await s.quiet(50)
        pressed = await s.press(17)  # 09:00:50: a call, open when the reminder falls due
        await s.quiet(40)
        s.note("09:01:30: the reminder is due, the call still open: nothing said")
        assert "reminder_medication" not in [u["key"] for u in s.spoken()]
        await s.ack(pressed["event_id"])
        await s.heard("reminder_medication")
        await s.quiet(2)
        assert (await s.press(17))["outcome"] == "claimed"
        await s.event("reminder.confirmed")
        # the sim verbs go through the same paths
        with s.loop.real_time():
            sent = await s.sim("notice", "本周六上午社区有免费体检", "--priority", "info", "--id", "sim-1")
        assert sent == {"outcome": "accepted", "notice_id": "sim-1"}
        await s.heard("notice_info")
        assert (await s.sim("reminder", "noon"))["outcome"] == "due"
        await s.heard("reminder_medication", count=2)
        with pytest.raises(SimArgumentError, match="no \\[\\[reminders\\]\\] entry 'nope'"):  # exit 2
            await s.sim("reminder", "nope")

    s.run(scene, timeout_real_s=240)
    keys = [u["key"] for u in s.spoken() if u["key"] != "chime"]
    assert keys.index("reminder_medication") > keys.index("call_acknowledged_by")
    assert [e.type for _, e in s.events].count("call.raised") == 1


def test_hub_status_lists_waiting_notices_and_due_reminders(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import argparse

    from hub.cli import status as cli_status
    from hub.config.loader import Config, validate
    config = Config(tmp_path / "hub.toml", validate({"hub": {"id": "x-1", "state_dir": str(tmp_path)}}))
    reply = {"hub": "x-1", "state": "online", "notices": {
        "pending": [{"ref": "notice:typhoon-1", "priority": "critical", "plays": 1, "confirm": True, "next": None,
                     "until": "2025-03-04T15:00:00+08:00"}],
        "reminders": [{"ref": "reminder:morning@2025-03-04T09:01", "kind": "medication", "plays": 0, "confirm": True,
                       "next": "2025-03-04T09:01:00+08:00", "until": "2025-03-04T09:31:00+08:00"}],
        "scheduled": ["morning medication 09:01"]}}
    monkeypatch.setattr(cli_status, "load_config_or_exit", lambda args: config)
    monkeypatch.setattr(cli_status, "request", lambda *a, **k: reply)
    assert cli_status.status(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "notices 通知: 1 waiting, reminders 提醒 due: 1; schedule: morning medication 09:01" in out
    assert "notice:typhoon-1 critical  said 1x  WAITS FOR A PRESS 待确认  until 2025-03-04T15:00:00+08:00" in out
    assert "reminder:morning@2025-03-04T09:01 medication  said 0x  next 2025-03-04T09:01:00+08:00" in out
