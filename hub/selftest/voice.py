"""Speak the test prompt when the hub is stopped (the running hub speaks it itself): the same
voice.speaker pipeline, run just long enough to play one prompt."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from hub.config.loader import Config

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
