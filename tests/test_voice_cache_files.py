"""Issue 21 item 8: after a power cut `voice-cache/chime-100.wav` was left at 0 bytes and the chime was
gone for good. Derived audio is written atomically and made again when it is not a whole WAV."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from test_speech_queue import CHIME_S, Renderer, run

from hub.speech.player import TimedPlayer, chime, tail
from hub.speech.queue import SpeechQueue
from voice.audio import wav_info, write_atomic


@pytest.mark.parametrize("left", [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", "cut"], ids=["empty", "header", "cut"])
def test_a_chime_left_broken_by_a_power_cut_is_made_again(tmp_path: Path, left: bytes | str) -> None:
    whole = chime(tmp_path / "good", 100).read_bytes()
    path = tmp_path / "chime-100.wav"
    path.write_bytes(whole[: len(whole) // 2] if left == "cut" else left)  # type: ignore[arg-type]
    assert chime(tmp_path, 100) == path
    assert path.read_bytes() == whole and wav_info(path) is not None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_the_queue_plays_a_whole_chime_after_finding_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "chime-100.wav").write_bytes(b"")  # what the power cut left

    async def body(q: SpeechQueue) -> None:
        q.say("call_no_answer")  # IMPORTANT: a chime first
        await asyncio.sleep(5)

    spoken = run(tmp_path, body)
    assert spoken[0] == {"key": "chime", "text": "chime", "start": 0.0, "end": round(CHIME_S, 3)}
    assert wav_info(tmp_path / "chime-100.wav") is not None


def test_the_warm_up_at_start_remakes_an_empty_chime(tmp_path: Path) -> None:
    (tmp_path / "chime-100.wav").write_bytes(b"")

    async def start() -> None:
        await SpeechQueue(Renderer(tmp_path), TimedPlayer(), tmp_path).warm(keys=[])

    asyncio.run(start())
    assert wav_info(tmp_path / "chime-100.wav") is not None


def test_a_broken_resume_tail_is_made_again(tmp_path: Path) -> None:
    wav = Renderer(tmp_path).render("call_no_answer", "zh", None)
    first = tail(wav, 0.8, tmp_path)
    whole = first.read_bytes()
    os.truncate(first, 0)
    assert tail(wav, 0.8, tmp_path).read_bytes() == whole


def test_a_power_cut_after_the_chime_is_written_leaves_it_whole(tmp_path: Path) -> None:
    """On a card that keeps only what was fsynced (tests/powercut.py): the chime is written, another
    cache file's write then makes the directory durable, and the power goes. The chime was the name
    with its data never fsynced — 0 bytes — until it was written atomically."""
    from powercut import PowerCutFS, fuse_available

    if fuse_available() is not None:
        pytest.skip(str(fuse_available()))
    with PowerCutFS(tmp_path / "card") as fs:
        cache = fs.path / "voice-cache"
        cache.mkdir()
        fs.sync()
        chime(cache, 100)
        write_atomic(cache / "tts-next.wav", (cache / "chime-100.wav").read_bytes())  # fsyncs the directory
        fs.cut()
        assert wav_info(cache / "chime-100.wav") is not None
