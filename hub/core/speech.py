"""One voice at a time: the hub's single speech queue (`ctx.say`, `ctx.speak`, questions).

- Nothing overlaps: one worker plays one prompt after another.
- Most urgent first (LEVELS): a call's state, fire and the fall check/alarm are URGENT; reminders and
  warnings IMPORTANT; the rest INFO. A more urgent prompt pre-empts the one playing at its next
  sentence boundary (prompts are rendered one clause per WAV); the interrupted prompt resumes after.
- A chime precedes an IMPORTANT or URGENT prompt when the hub was silent (CHIME_AFTER_IDLE_S) or
  when it breaks into another prompt, so the resident looks up before the words start.
- `speak()` returns when the prompt has been heard, so a repeat is scheduled from the END of the
  previous utterance (the fall countdown starts when its question ends).
- A question (hub.core.questions) holds back prompts less urgent than itself while it waits.
- The same prompt already waiting is not queued twice.
Each utterance is recorded (key, text, start, end on the queue's clock) for `hub spoken` and tests.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hub.config.loader import Config
from hub.core.player import AplayPlayer, Player, chime
from voice.catalogue import catalogue, fields_of
from voice.speaker import Speaker

log = logging.getLogger(__name__)

INFO, IMPORTANT, URGENT = 1, 2, 3
LEVELS: dict[str, int] = {
    **dict.fromkeys(("call_raising", "call_offline", "call_cancelled", "call_acknowledged", "call_repeat",
                     "call_delivered", "sensors_fire_alarm", "sensors_heat_rise_alarm", "fall_check",
                     "fall_cancelled", "fall_alarm", "inactivity_alarm"), URGENT),
    **dict.fromkeys(("call_no_answer", "inactivity_check", "sensors_heat_alarm", "sensors_cold_alarm",
                     "sensors_fire_cleared", "sensors_power_lost", "sensors_battery_low",
                     "health_bp_very_high", "health_glucose_very_high", "health_glucose_low"), IMPORTANT),
}  # every other prompt is INFO
# A newer prompt about the same thing makes an older one moot: "已取消呼叫" drops a waiting
# "正在呼叫社区" and cuts one being spoken at its next clause.
TOPICS: dict[str, str] = {
    **dict.fromkeys(("call_raising", "call_offline", "call_repeat", "call_cancelled", "call_acknowledged",
                     "call_no_answer", "call_delivered"), "call"),
    **dict.fromkeys(("fall_check", "fall_cancelled", "fall_alarm"), "fall"),
    **dict.fromkeys(("inactivity_check", "inactivity_ok", "inactivity_alarm"), "inactivity"),
    **dict.fromkeys(("sensors_fire_alarm", "sensors_fire_cleared", "sensors_heat_rise_alarm",
                     "sensors_heat_rise_cleared"), "fire"),
}
CHIME_AFTER_IDLE_S = 1.0
MAX_WAITING = 32
_CLAUSE = re.compile(r"(?<=[。！？；，!?;,])\s*")


def level_of(key: str) -> int:
    return LEVELS.get(key, INFO)


def clauses(text: str) -> list[str]:
    """Split at sentence and clause marks, keeping each mark with its clause (the pre-emption points)."""
    return [part for part in _CLAUSE.split(text) if part.strip()]


class Renderer(Protocol):
    def lines(self, key: str, **fields: Any) -> list[tuple[str, str]]: ...

    def render_line(self, voice: str, text: str, volume: int | None = None) -> Path: ...


@dataclass
class Utterance:
    key: str
    level: int
    volume: int | None
    seq: int
    lines: list[tuple[str, str]]
    done: asyncio.Future[dict[str, Any]]
    segments: list[tuple[str, str]] = field(default_factory=list)  # (voice, clause) still to play
    cancelled: bool = False
    superseded: bool = False  # a newer prompt on the same topic: stop at the next clause

    @property
    def text(self) -> str:
        return " / ".join(text for _, text in self.lines)


class SpeechQueue:
    def __init__(self, renderer: Renderer, player: Player, cache_dir: Path, *, enabled: bool = True,
                 now: Callable[[], float] | None = None) -> None:
        """`enabled` False ([voice] enabled = false): prompts are logged and recorded as heard at once."""
        self.renderer = renderer
        self.enabled = enabled
        self.player = player
        self.cache_dir = cache_dir
        self.now = now or asyncio.get_running_loop().time
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)
        self._waiting: list[Utterance] = []
        self._holds: list[int] = []
        self._changed = asyncio.Event()
        self._seq = itertools.count()
        self._current: Utterance | None = None
        self._playing: asyncio.Task[None] | None = None
        self._last_end = -1e9
        self._render_warned = False
        self._broke_in = False  # the last utterance was cut short by a more urgent one

    # --- asking ------------------------------------------------------------------------------------
    def say(self, key: str, volume: int | None = None, **fields: Any) -> Utterance:
        loop = asyncio.get_running_loop()
        lines = self.renderer.lines(key, **fields)
        u = Utterance(key, level_of(key), volume, next(self._seq), lines, loop.create_future())
        log.info("say [%s] %s", key, u.text)
        if not self.enabled:
            self._record(u, u.text, self.now(), self.now(), played=False)
            return u
        current = self._current if self._current is not None and not self._current.superseded else None
        same = next((w for w in [*self._waiting, *([current] if current else [])]
                     if w.lines == lines and not w.cancelled), None)
        if same is not None:
            return same  # being said or waiting already: saying it again says nothing more
        u.segments = [(voice, part) for voice, text in lines for part in clauses(text)]
        self._supersede(key)
        if len(self._waiting) >= MAX_WAITING:
            dropped = min(self._waiting, key=lambda w: (w.level, -w.seq))
            log.warning("speech queue full; dropped prompt %s", dropped.key)
            self._finish(dropped)
            self._waiting.remove(dropped)
        self._waiting.append(u)
        self._changed.set()
        return u

    async def speak(self, key: str, volume: int | None = None, **fields: Any) -> dict[str, Any]:
        """Say it and return once it has been heard (or cancelled): the record with start and end."""
        return await asyncio.shield(self.say(key, volume, **fields).done)

    def cancel(self, u: Utterance) -> None:
        """Stop an utterance now (a question that has been answered): cut the clause playing, drop the rest."""
        u.cancelled = True
        if u in self._waiting:
            self._waiting.remove(u)
            self._finish(u)
        elif u is self._current and self._playing is not None:
            self._playing.cancel()

    def _supersede(self, key: str) -> None:
        topic = TOPICS.get(key)
        if topic is None:
            return
        for w in [w for w in self._waiting if TOPICS.get(w.key) == topic and w.key != key]:
            self._waiting.remove(w)
            self._finish(w)
        if self._current is not None and TOPICS.get(self._current.key) == topic and self._current.key != key:
            self._current.superseded = True

    def hold(self, level: int) -> Callable[[], None]:
        """Hold back prompts less urgent than `level` until the returned release is called."""
        self._holds.append(level)

        def release() -> None:
            if level in self._holds:
                self._holds.remove(level)
                self._changed.set()
        return release

    def recent(self) -> list[dict[str, Any]]:
        return list(self.history)

    async def warm(self, keys: list[str] | None = None) -> None:
        """Render these prompts (default: every one without fields) and the chime into the cache ahead of
        need, one clause at a time on a worker thread, so the first fall alarm is not kept waiting by
        espeak-ng. The cache survives restarts."""
        if not self.enabled:
            return
        if keys is None:
            keys = sorted(key for key, p in catalogue().items() if not fields_of(p))
        try:
            await asyncio.to_thread(chime, self.cache_dir, 100)
            for key in keys:
                for voice, text in self.renderer.lines(key):
                    for part in clauses(text):
                        await asyncio.to_thread(self.renderer.render_line, voice, part, None)
        except Exception as exc:  # no espeak-ng: said once when a prompt is due
            log.debug("speech warm-up stopped: %s", exc)

    # --- the worker --------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            u = await self._next()
            try:
                await self._play(u)
            except asyncio.CancelledError:
                self._finish(u)
                raise
            except Exception:
                log.exception("speaking %s failed", u.key)
                self._finish(u)

    async def _next(self) -> Utterance:
        while True:
            floor = max(self._holds, default=0)
            ready = [u for u in self._waiting if u.level >= floor]
            if ready:
                u = max(ready, key=lambda w: (w.level, -w.seq))
                self._waiting.remove(u)
                return u
            self._changed.clear()
            await self._changed.wait()

    def _preempted(self, u: Utterance) -> bool:
        floor = max(self._holds, default=0)
        return any(w.level > u.level and w.level >= floor for w in self._waiting)

    async def _play(self, u: Utterance) -> None:
        self._current = u
        if u.level >= IMPORTANT and (self.now() - self._last_end >= CHIME_AFTER_IDLE_S or self._broke_in):
            wav = await asyncio.to_thread(chime, self.cache_dir, u.volume or 100)
            start = self.now()
            await self._out(wav)
            self._record(None, "chime", start, self.now(), played=True, key="chime")
        start, played = self.now(), True
        heard: list[str] = []
        self._broke_in = False
        while u.segments and not u.cancelled:
            if heard and u.superseded:
                break
            if heard and self._preempted(u):
                self._broke_in = True
                self._waiting.append(u)  # resumes (keeping its place) after what pre-empted it
                break
            voice, text = u.segments[0]
            try:
                wav = await asyncio.to_thread(self.renderer.render_line, voice, text, u.volume)
            except Exception as exc:  # no espeak-ng: the call still goes out, the LEDs still show it
                (log.debug if self._render_warned else log.warning)("cannot render prompt %s: %s", u.key, exc)
                self._render_warned = True
                played = False
                u.segments.clear()
                break
            if not await self._out(wav):
                break  # cancelled mid-clause
            heard.append(text)
            u.segments.pop(0)
        self._current = None
        self._last_end = self.now()
        done = not u.segments or u.cancelled or u.superseded
        self._record(u if done else None, "".join(heard), start, self._last_end, played=played and bool(heard),
                     interrupted=not done, key=u.key, cut=u.superseded and bool(u.segments))

    async def _out(self, wav: Path) -> bool:
        self._playing = asyncio.ensure_future(self.player.play(wav))
        try:
            await asyncio.wait({self._playing})
        finally:
            if not self._playing.done():
                self._playing.cancel()  # the worker itself is being cancelled
        return not self._playing.cancelled()

    def _record(self, u: Utterance | None, text: str, start: float, end: float, *, played: bool,
                interrupted: bool = False, key: str | None = None, cut: bool = False) -> None:
        entry = {"key": key or (u.key if u else ""), "text": text, "start": round(start, 3),
                 "end": round(end, 3), "at": time.time(), "played": played}
        if interrupted:
            entry["interrupted"] = True  # resumes after the more urgent prompt
        if cut:
            entry["cut"] = True  # a newer prompt on the same topic made the rest moot
        if u is not None and u.cancelled:
            entry["cancelled"] = True
        self.history.append(entry)
        if u is not None:
            self._finish(u, entry)

    def _finish(self, u: Utterance, entry: dict[str, Any] | None = None) -> None:
        if not u.done.done():
            u.done.set_result(entry or {"key": u.key, "text": "", "start": self.now(), "end": self.now(),
                                        "played": False, "cancelled": True})


def speech_from_config(config: Config, player: Player | None = None) -> SpeechQueue:
    """The hub's speech queue from [voice]: espeak-ng through voice.speaker, cached in state_dir."""
    voice = config["voice"]
    cache = config.state_dir / "voice-cache"
    speaker = Speaker(cache, enabled=voice["enabled"], language=voice["language"],
                      also_english=voice["also_english"], voice=voice["espeak_voice"],
                      speed_wpm=voice["speed_wpm"], volume=voice["volume"])
    return SpeechQueue(speaker, player or AplayPlayer(voice["player"], voice["device"]), cache,
                       enabled=voice["enabled"])
