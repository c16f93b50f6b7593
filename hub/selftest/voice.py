"""The voice: does the installed espeak-ng have a voice that reads Mandarin, is sox there to even the
loudness out, is the voice pack whole (`check_audio_and_voice`); and speaking the test prompt when the
hub is stopped (the running hub speaks it itself): the same voice.speaker pipeline, run just long
enough to play one prompt."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from hub.config.loader import Config
from hub.selftest.model import FAIL, PASS, SKIP, Env, Result
from hub.selftest.system import check_audio

PLAY_TIMEOUT_S = 20.0


async def say_test_prompt(config: Config) -> bool:
    """True if the prompt was rendered and played (the person still confirms hearing it)."""
    from voice.speaker import Speaker

    voice = config["voice"]
    cache = config.state_dir / "voice-cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # a technician without write access to state_dir: render into a temp dir
        cache = Path(tempfile.mkdtemp(prefix="hub-selftest-voice-"))
    speaker = Speaker.from_config(voice, config.state_dir, cache_dir=cache, enabled=True, prerender=False)
    task = asyncio.create_task(speaker.run(), name="selftest.voice")
    try:
        speaker.say("test_prompt")
        deadline = asyncio.get_running_loop().time() + PLAY_TIMEOUT_S
        while not speaker.history and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        return bool(speaker.history and speaker.history[-1].played)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def check_audio_and_voice(env: Env, owned: bool) -> list[Result]:
    """The sound card and player (hub.selftest.system), then the voice itself."""
    return [*await check_audio(env, owned), *await asyncio.to_thread(_voice_rows, env.config)]


def _voice_rows(config: Config) -> list[Result]:
    from voice import audio, packs
    from voice.phonemes import Prober, short_version

    v = config["voice"]
    try:
        prober = Prober(config.state_dir if config.state_dir.is_dir() else None)
    except OSError:
        prober = Prober(None)
    choice = prober.choose(v["espeak_voice"])
    rows = [Result("audio", "Mandarin voice 普通话语音",
                   PASS if choice.mandarin and not choice.refused else FAIL,
                   f"{choice.voice} (espeak-ng {short_version(choice.espeak)})",
                   "" if choice.mandarin and not choice.refused else choice.refused)]
    rows.append(Result("audio", "loudness (sox)", PASS if audio.sox_binary() else FAIL,
                       "sox" if audio.sox_binary() else "sox missing",
                       "" if audio.sox_binary() else "apt-get install sox：否则录音和合成语音音量不一 / "
                                                     "recordings and TTS are not brought to one loudness"))
    root = packs.installed(config.state_dir, v["pack"])
    if root is None:
        rows.append(Result("audio", "voice pack 语音包", SKIP, "none: every prompt is synthesised"))
        return rows
    try:
        pack = packs.load(root)
    except packs.PackError as exc:
        return [*rows, Result("audio", "voice pack 语音包", FAIL, str(exc)[:80],
                              "重新导入语音包 / fix the pack and run hub voice import again")]
    rows.append(Result("audio", "voice pack 语音包", PASS,
                       f"{pack.name}: {len(pack.recordings)} recorded, {len(pack.missing())} TTS"))
    return rows
