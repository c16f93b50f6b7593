"""Speak prompts in order without blocking the hub: render (cached) and play on a named task.

Rendering is voice.library.PromptAudio (recording or TTS, normalised text, common loudness); this
module only queues and plays. No audio device or no espeak-ng is logged, never an error: the call
still goes out, and the LEDs still show it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice import packs
from voice.audio import AudioError
from voice.catalogue import catalogue, prompt
from voice.library import PromptAudio, Rendered, volatile_dir
from voice.phonemes import AUTO
from voice.tts import TtsUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    key: str
    text: str  # as synthesised (normalised), or the prompt a recording stands for
    volume: int
    at: float
    wav: str | None = None
    played: bool = False
    source: str = ""  # "tts" | "recording" ("" when voice is off or nothing could be rendered)
    duration_s: float = 0.0


class Speaker:
    def __init__(self, cache_dir: Path, *, enabled: bool = True, language: str = "zh",
                 also_english: bool = False, voice: str = AUTO, speed_wpm: int = 140, volume: int = 100,
                 player: str = "aplay", device: str = "", state_dir: Path | None = None,
                 level_db: float = -23.0, pack_dir: Path | None = None, prerender: bool = False) -> None:
        self.cache_dir = cache_dir
        self.enabled = enabled
        self.language = language
        self.also_english = also_english
        self.volume = volume
        self.player = player
        self.device = device
        self.prerender = prerender
        self.audio = PromptAudio(cache_dir, state_dir=state_dir, voice=voice, speed_wpm=speed_wpm,
                                 level_db=level_db, pack_dir=pack_dir,
                                 volatile_dir=volatile_dir(state_dir) if state_dir is not None else None)
        self.history: collections.deque[Utterance] = collections.deque(maxlen=50)
        self._queue: asyncio.Queue[tuple[str, str, int, dict[str, Any]]] = asyncio.Queue(maxsize=32)
        self._warned = False

    @classmethod
    def from_config(cls, voice: Mapping[str, Any], state_dir: Path, **overrides: Any) -> Speaker:
        """The speaker the [voice] section describes (the hub and `hub selftest` build it the same way)."""
        cache_dir = overrides.pop("cache_dir", state_dir / "voice-cache")
        settings: dict[str, Any] = dict(
            enabled=voice["enabled"], language=voice["language"], also_english=voice["also_english"],
            voice=voice["espeak_voice"], speed_wpm=voice["speed_wpm"], volume=voice["volume"],
            player=voice["player"], device=voice["device"], state_dir=state_dir, level_db=voice["level_db"],
            pack_dir=packs.installed(state_dir, voice["pack"]), prerender=voice["prerender"])
        settings.update(overrides)
        return cls(cache_dir, **settings)

    def move_cache(self, cache_dir: Path) -> None:
        """Render into `cache_dir` from now on: the SD card refuses writes (hub.core.storage_watch)."""
        self.cache_dir = self.audio.cache_dir = cache_dir

    def say(self, key: str, volume: int | None = None, **fields: Any) -> None:
        p = prompt(key)  # unknown keys are a programming error: fail loudly in tests
        text = p.text(self.language, **fields)
        log.info("say [%s] %s / %s", key, text, p.text("en", **fields))
        if not self.enabled:
            self.history.append(Utterance(key, text, 0, time.time()))
            return
        languages = [self.language] + (["en"] if self.also_english and self.language == "zh" else [])
        for language in languages:
            try:
                self._queue.put_nowait((key, language, volume if volume is not None else self.volume, fields))
            except asyncio.QueueFull:
                log.warning("speech queue full; dropped prompt %s", key)

    async def run(self) -> None:
        await asyncio.to_thread(self.audio.choice)  # probe the voices once, before the first prompt
        pending = [k for k, p in catalogue().items() if not p.has_fields] if self.prerender else []
        while True:
            if pending and self._queue.empty():
                await self._render(pending.pop(0), self.language, self.volume, {})
                continue
            key, language, volume, fields = await self._queue.get()
            rendered = await self._render(key, language, volume, fields)
            played = await self._play(rendered.wav) if rendered else False
            self.history.append(Utterance(
                key, rendered.text if rendered else prompt(key).text(language, **fields), volume, time.time(),
                str(rendered.wav) if rendered else None, played, rendered.source if rendered else "",
                rendered.duration_s if rendered else 0.0))

    async def _render(self, key: str, language: str, volume: int, fields: dict[str, Any]) -> Rendered | None:
        try:
            return await asyncio.to_thread(self.audio.render, key, language, volume, **fields)
        except (TtsUnavailable, AudioError, OSError) as exc:
            self._warn(f"cannot render speech: {exc}")
            return None

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
