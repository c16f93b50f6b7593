"""Speak prompts in order without blocking the hub: render (cached) and play on a named task.

No audio device or no espeak-ng is logged, never an error: the call still goes out, and the LEDs
still show it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.catalogue import prompt
from voice.tts import TtsUnavailable, Voice, render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    key: str
    text: str
    volume: int
    at: float
    wav: str | None = None
    played: bool = False


class Speaker:
    def __init__(self, cache_dir: Path, *, enabled: bool = True, language: str = "zh",
                 also_english: bool = False, voice: str = "cmn", speed_wpm: int = 140, volume: int = 100,
                 player: str = "aplay", device: str = "") -> None:
        self.cache_dir = cache_dir
        self.enabled = enabled
        self.language = language
        self.also_english = also_english
        self.voice_name = voice
        self.speed_wpm = speed_wpm
        self.volume = volume
        self.player = player
        self.device = device
        self.history: collections.deque[Utterance] = collections.deque(maxlen=50)
        self._queue: asyncio.Queue[tuple[str, str, str, int]] = asyncio.Queue(maxsize=32)
        self._warned = False

    def say(self, key: str, volume: int | None = None, **fields: Any) -> None:
        p = prompt(key)  # unknown keys are a programming error: fail loudly in tests
        text = p.text(self.language, **fields)
        log.info("say [%s] %s / %s", key, text, p.text("en", **fields))
        if not self.enabled:
            self.history.append(Utterance(key, text, 0, time.time()))
            return
        lines = [(self.voice_name if self.language == "zh" else "en", text)]
        if self.also_english and self.language == "zh":
            lines.append(("en", p.text("en", **fields)))
        for voice, line in lines:
            try:
                self._queue.put_nowait((key, voice, line, volume if volume is not None else self.volume))
            except asyncio.QueueFull:
                log.warning("speech queue full; dropped prompt %s", key)

    async def run(self) -> None:
        while True:
            key, voice, text, volume = await self._queue.get()
            wav: Path | None = None
            played = False
            try:
                wav = await asyncio.to_thread(render, text, Voice(voice, self.speed_wpm, volume), self.cache_dir)
                played = await self._play(wav)
            except TtsUnavailable as exc:
                self._warn(f"cannot render speech: {exc}")
            self.history.append(Utterance(key, text, volume, time.time(), str(wav) if wav else None, played))

    async def _play(self, wav: Path) -> bool:
        if not shutil.which(self.player):
            self._warn(f"no player '{self.player}' (apt-get install alsa-utils); prompt not played")
            return False
        cmd = [self.player, "-q", *(["-D", self.device] if self.device else []), str(wav)]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            self._warn(f"no audio output ({err.decode(errors='replace').strip()[-120:]}); "
                       "check the speaker / ALSA device [voice] device")
            return False
        return True

    def _warn(self, message: str) -> None:
        # Once loudly, then quietly: a unit without a speaker must not fill its SD card with logs.
        (log.debug if self._warned else log.warning)(message)
        self._warned = True

    def recent(self) -> list[dict[str, Any]]:
        return [u.__dict__ for u in self.history]
