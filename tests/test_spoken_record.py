"""What she heard is on record (hub.speech.record, `hub spoken`): every utterance as it was played, with
the words heard, start, end, interrupted or not and the alarm it belongs to; written in batches, kept
at least 7 days, pruned; read with the hub stopped (the files) and running (its last batch too)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support import HubProcess, Subscriber, online_hub, wait_spoken
from test_speech_queue import CHIME_S, Renderer
from virtual_time import VirtualTimeLoop

from hub.cli.spoken import parse_since
from hub.speech import record as record_mod
from hub.speech.player import TimedPlayer
from hub.speech.queue import SpeechQueue
from hub.speech.record import FLUSH_S, SpokenRecord, read_record, record_files


def on_virtual_loop(tmp_path: Path, body: Callable[[SpeechQueue], Any]) -> SpeechQueue:
    async def main() -> SpeechQueue:
        q = SpeechQueue(Renderer(tmp_path), TimedPlayer(), tmp_path)
        q.record = SpokenRecord(tmp_path / "spoken")
        worker = asyncio.create_task(q.run())
        await body(q)
        worker.cancel()
        return q
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


def test_every_utterance_is_on_record_as_played_interrupted_ones_too(tmp_path: Path) -> None:
    async def body(q: SpeechQueue) -> None:
        q.say("alarm_reminder", about="call-1")  # chime, a sentence, pause, two clauses
        await asyncio.sleep(CHIME_S + 0.2)
        await q.speak("sensors_fire_alarm", about="fire-1")  # URGENT: breaks in at the sentence end
        await asyncio.sleep(3)

    q = on_virtual_loop(tmp_path, body)
    assert q.record is not None
    q.record.flush()
    lines = list(read_record(tmp_path / "spoken"))
    assert [(x["key"], x["text"], x["interrupted"], x.get("about")) for x in lines] == [
        ("chime", "chime", False, None),
        ("alarm_reminder", "紧急呼叫。", True, "call-1"),
        ("chime", "chime", False, None),
        ("sensors_fire_alarm", "检测到烟雾，请离开", False, "fire-1"),
        ("alarm_reminder", "社区暂未确认，正在继续呼叫", False, "call-1")]
    for x in lines:
        start, end = (datetime.fromisoformat(x[k].replace("Z", "+00:00")) for k in ("start", "end"))
        assert timedelta(0) <= end - start < timedelta(seconds=2) and x["played"] is True
    fire = lines[3]
    assert (datetime.fromisoformat(fire["end"].replace("Z", "+00:00"))
            - datetime.fromisoformat(fire["start"].replace("Z", "+00:00"))) == timedelta(seconds=1.1)
    assert q.recent()[0].get("about") is None and q.recent()[1]["about"] == "call-1"


def test_written_in_batches_not_per_utterance(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def body(q: SpeechQueue) -> None:
        await q.speak("inactivity_ok")
        await q.speak("test_prompt")
        seen["files_at_once"] = record_files(tmp_path / "spoken")
        await asyncio.sleep(FLUSH_S + 1)
        deadline = time.monotonic() + 10  # the batch is written on a worker thread
        while not record_files(tmp_path / "spoken") and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        seen["after"] = [x["key"] for x in read_record(tmp_path / "spoken")]

    on_virtual_loop(tmp_path, body)
    assert seen["files_at_once"] == []  # nothing written per utterance
    assert seen["after"] == ["inactivity_ok", "test_prompt"]  # one batch, in order


def test_old_days_are_pruned_a_week_kept_and_a_torn_line_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "spoken"
    folder.mkdir()
    today = datetime.now(UTC)
    for days_ago in (12, 9, 7, 1):
        day = (today - timedelta(days=days_ago)).strftime("%Y%m%d")
        (folder / f"spoken-{day}.jsonl").write_text(json.dumps({"key": f"k{days_ago}", "end": f"{day}"}) + "\n")
    (folder / f"spoken-{today.strftime('%Y%m%d')}.jsonl").write_text(
        '{"key": "k0"}\n{"key": "torn", "te')  # a power cut in the middle of a batch
    rec = SpokenRecord(folder, days=8)
    rec.add({"key": "call_raising", "text": "正在呼叫社区", "start": 0.0, "end": 2.0, "at": time.time(),
             "played": True})
    rec.flush()
    kept = [p.name for p in record_files(folder)]
    assert kept == [f"spoken-{(today - timedelta(days=d)).strftime('%Y%m%d')}.jsonl" for d in (7, 1, 0)]
    assert [x["key"] for x in read_record(folder)] == ["k7", "k1", "k0", "call_raising"]


def test_the_oldest_go_first_when_over_the_size_cap(tmp_path: Path) -> None:
    folder = tmp_path / "spoken"
    rec = SpokenRecord(folder, days=8, max_bytes=3000)
    now = time.time()
    for days_ago in (3, 2):
        day = datetime.fromtimestamp(now - days_ago * 86400, UTC).strftime("%Y%m%d")
        folder.mkdir(exist_ok=True)
        (folder / f"spoken-{day}.jsonl").write_text("x" * 2000 + "\n")
    rec.add({"key": "test_prompt", "text": "测试", "start": 0, "end": 1, "at": now, "played": True})
    rec.flush()
    assert len(record_files(folder)) == 2  # the 3-day-old file went; yesterday's and today's fit


def test_since_accepts_ago_and_local_times() -> None:
    now = 1_765_000_000.0
    assert parse_since("30m", None, now) == now - 1800
    assert parse_since("7d", None, now) == now - 7 * 86400
    from zoneinfo import ZoneInfo
    assert parse_since("2026-12-06 08:00", ZoneInfo("Asia/Shanghai")) == datetime(2026, 12, 6, 0, 0,
                                                                                    tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="30m"):
        parse_since("yesterday", None, now)
    # '13:19' as a technician types it after a test press: today, in the hub's zone (was refused)
    shanghai = ZoneInfo("Asia/Shanghai")
    noonish = datetime(2026, 12, 7, 5, 20, tzinfo=UTC).timestamp()  # 13:20 in Shanghai
    assert parse_since("13:19", shanghai, noonish) == datetime(2026, 12, 7, 5, 19, tzinfo=UTC).timestamp()
    assert parse_since("13:21", shanghai, noonish) == datetime(2026, 12, 6, 5, 21, tzinfo=UTC).timestamp()
    for bad in ("25:00", "13:61"):
        with pytest.raises(ValueError, match="'08:00'"):
            parse_since(bad, shanghai, noonish)


def hub_spoken(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", "spoken", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_hub_spoken_reads_the_files_with_no_hub_running(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nstate_dir = "{state}"\ntimezone = "Asia/Shanghai"\n')
    rec = SpokenRecord(state / "spoken")
    old = time.time() - 3 * 3600
    rec.add({"key": "call_raising", "text": "正在呼叫社区，请稍候", "start": 0, "end": 3.5, "at": old, "played": True,
             "about": "call-9"})
    rec.add({"key": "call_no_answer", "text": "社区暂未确认，", "start": 5, "end": 6.2, "at": time.time(),
             "played": True, "interrupted": True})
    rec.flush()
    every = hub_spoken(config, "--json")
    assert every.returncode == 0, every.stderr
    lines = [json.loads(x) for x in every.stdout.splitlines()]
    assert [(x["key"], x["interrupted"], x.get("about")) for x in lines] == [
        ("call_raising", False, "call-9"), ("call_no_answer", True, None)]
    recent = hub_spoken(config, "--since", "1h")
    assert recent.returncode == 0 and "call_raising" not in recent.stdout
    assert "社区暂未确认，" in recent.stdout and "INTERRUPTED" in recent.stdout and "1.2 s" in recent.stdout
    assert hub_spoken(config, "--since", "soon").returncode == 2
    last = record_files(state / "spoken")[-1]
    with last.open("a") as f:  # more than a pipe holds (64 kB), so the writer meets the closed pipe
        f.write((json.dumps({**lines[-1], "key": "test_prompt"}) + "\n") * 1500)
    head = subprocess.run(f"{sys.executable} -m hub spoken --config {config} | head -1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert head.stdout.count("\n") == 1 and "Traceback" not in head.stderr, head.stderr


@pytest.mark.timeout(120)
def test_hub_spoken_with_the_hub_running_and_after_it_stopped(make_hub: Callable[..., HubProcess],
                                                              subscriber: Callable[..., Subscriber]) -> None:
    hub, sub = online_hub(make_hub, subscriber, "")  # voice off: each prompt is recorded as said at once
    call_id = hub.sim("press", "--button", "17")["event_id"]
    sub.publish("eldercare/v1/test-0001/cmd/ack", json.dumps({"event_id": call_id, "by": "duty01"}))
    assert wait_spoken(hub, "call_acknowledged"), hub.log_tail()
    # "正在呼叫社区" waits for the call's PUBACK (hub.core.resident_voice), which may come after the ack was said
    assert wait_spoken(hub, "call_raising"), hub.spoken()
    said = hub.spoken_record()
    assert "call_raising" in [x["key"] for x in said] or "call_sending" in [x["key"] for x in said]
    ack = [x for x in said if x["key"] == "call_acknowledged"]
    assert len(ack) == 1 and ack[0]["about"] == call_id and "duty01" not in ack[0]["text"]
    # Said a moment ago, so still in the hub's unwritten batch (FLUSH_S): `hub spoken` asked the running hub.
    assert "call_acknowledged" not in [x["key"] for x in read_record(hub.state_dir / "spoken")]
    hub.stop()
    assert hub.spoken_record() == said  # written at exit: the same lines, from the files
    assert [x["key"] for x in hub.spoken_record("--since", "10m")] == [x["key"] for x in said]


def test_exit_flushes_every_open_record(tmp_path: Path) -> None:
    rec = SpokenRecord(tmp_path / "spoken")
    rec.add({"key": "test_prompt", "text": "测试", "start": 0, "end": 1, "at": time.time(), "played": True})
    record_mod._flush_all()
    assert [x["key"] for x in read_record(tmp_path / "spoken")] == ["test_prompt"]


def test_the_hub_keeps_its_record_in_state_dir_for_the_configured_days(tmp_path: Path) -> None:
    from hub.config.loader import Config, ConfigError, validate
    from hub.speech.queue import speech_from_config

    config = Config(tmp_path / "hub.toml", validate({"hub": {"state_dir": str(tmp_path)},
                                                     "voice": {"spoken_days": 10, "enabled": False}}))

    async def made() -> SpeechQueue:
        return speech_from_config(config, TimedPlayer())
    q = asyncio.run(made())
    assert q.record is not None and q.record.folder == tmp_path / "spoken" and q.record.days == 10
    with pytest.raises(ConfigError, match="spoken_days"):
        validate({"voice": {"spoken_days": 3}})  # less than a week is not a record an incident review can use
