"""One voice at a time: the hub's single speech queue (`ctx.say`, `ctx.speak`, questions).

- Nothing overlaps: one worker plays one prompt after another.
- Most urgent first (LEVELS): a call's state, fire and the fall check/alarm are URGENT; reminders and
  warnings IMPORTANT; the rest INFO. A more urgent prompt pre-empts the one playing at its next
  sentence end (found in the WAV itself: hub.speech.player.pauses, so a voice pack's recording is
  interrupted the same way); the interrupted prompt resumes from there afterwards.
- A chime precedes an IMPORTANT or URGENT prompt when the hub was silent (CHIME_AFTER_IDLE_S) or
  when it breaks into another prompt, so the resident looks up before the words start.
- `speak()` returns when the prompt has been heard, so a repeat is scheduled from the END of the
  previous utterance (the fall countdown starts when its question ends).
- A question (hub.speech.questions) holds back less urgent prompts; a prompt waiting is not queued twice.
- Never inside a sentence (。！？；), so "血压185，112" is never split. Prompts said as one (`then=`: a
  reading and its advice) are one utterance: only an URGENT prompt breaks in between them, and the
  group is said again from its start. Readings and advice keep the order they came (render.in_order).
- A prompt that claims a fact (hub.speech.claims: "sent", "received"...) is said `about=` an alarm and
  only once the fact holds, checked when it comes up to be said; until then its `unless` prompt (the
  offline wording) is said, and its `then` line once the fact holds. A newer prompt supersedes only
  prompts about the same alarm.
Each utterance is recorded (key, text, start, end, `about`): `recent()`, and hub.speech.record (`hub spoken`).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.config.loader import Config
from hub.speech.claims import ClaimGate, Facts
from hub.speech.player import AplayPlayer, Player, chime, pauses, play_until, tail
from hub.speech.record import FOLDER, SpokenRecord
from hub.speech.render import (  # noqa: F401 - INFO, URGENT, clauses: re-exported with the levels
    IMPORTANT,
    INFO,
    TOPICS,
    URGENT,
    Renderer,
    SpeakerRenderer,
    clauses,
    heard_text,
    joined,
    level_of,
    prerender,
    sentence_stops,
)
from hub.speech.utterance import Part, Segments, Utterance, heard_entry
from hub.speech.waiting import Waiting
from voice.speaker import Speaker

log = logging.getLogger(__name__)

CHIME_AFTER_IDLE_S = 1.0


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
        self.record: SpokenRecord | None = None  # what she heard, on the card (hub.speech.record)
        self.waiting = Waiting()  # what is to be said next (hub.speech.waiting)
        self._seq = itertools.count()
        self._current: Utterance | None = None
        self._settling: Utterance | None = None  # taken from the queue, waiting for its claim's fact to settle
        self._playing: asyncio.Task[None] | None = None
        self._last_end = -1e9
        self._render_warned = False
        self._broke_in = False  # the last utterance was cut short by a more urgent one
        self._poke = asyncio.Event()  # something changed that the utterance playing must look at
        self.gate = ClaimGate(lambda key, about: self.say(key, about=about))  # claims against facts

    @property
    def facts(self) -> Facts | None:
        """The alarm registry's facts (hub.alarms.facts): what a prompt's claim is checked against."""
        return self.gate.facts

    @facts.setter
    def facts(self, facts: Facts | None) -> None:
        self.gate.facts = facts

    # --- asking ------------------------------------------------------------------------------------
    def move_cache(self, cache_dir: Path) -> None:
        """Render (prompts and the chime) into `cache_dir` from now on: the SD card refuses writes, so the
        resident still hears "存储故障…" and "呼叫已发出" (hub.core.storage_watch)."""
        self.cache_dir = cache_dir
        self.renderer.move_cache(cache_dir)

    def say(self, key: str, volume: int | None = None, *, about: str | None = None,
            then: tuple[tuple[str, dict[str, Any]], ...] = (), **fields: Any) -> Utterance:
        """`about`: the alarm the prompt is about; `then`: (key, fields) prompts said with it as one
        utterance, in that order (a field `about` names theirs)."""
        segments = [(key, fields, about), *((k, {n: v for n, v in f.items() if n != "about"}, f.get("about"))
                                            for k, f in then)]
        u = Utterance(key, max(level_of(k) for k, _f, _a in segments), volume, next(self._seq), fields,
                      self._parts(segments), asyncio.get_running_loop().create_future(), about=about,
                      segments=segments)
        u.asked = (u.text, about)
        log.info("say [%s] %s", key, u.text)
        if not self.enabled:
            self._record(u, u.text, self.now(), self.now(), played=False)
            return u
        current = self._current if self._current is not None and not self._current.superseded else None
        # as asked: one said in its offline wording (its claim's gate reworded it) or settling is the same
        same = next((w for w in [*self.waiting.prompts, *(x for x in (current, self._settling) if x)]
                     if w.asked == u.asked and not w.cancelled), None)
        if same is not None:
            return same  # being said or waiting already: saying it again says nothing more
        self._supersede(key, about)
        if (dropped := self.waiting.add(u)) is not None:
            log.warning("speech queue full; dropped prompt %s", dropped.key)
            self._finish(dropped)
        self._poke.set()
        return u

    async def speak(self, key: str, volume: int | None = None, **fields: Any) -> dict[str, Any]:
        """Say it and return once it has been heard (or cancelled): the record with start and end."""
        return await asyncio.shield(self.say(key, volume, **fields).done)

    def cancel(self, u: Utterance) -> None:
        """Stop an utterance now (a question that has been answered): cut the clause playing, drop the rest."""
        u.cancelled = True
        if self.waiting.remove(u):
            self._finish(u)
        elif u is self._current and self._playing is not None:
            self._playing.cancel()  # at once: an answered question stops mid-word

    def _parts(self, segments: Segments) -> list[Part]:
        return [Part(language, self.renderer.text(k, language, **f), k, f)
                for language in self.renderer.languages for k, f, _a in segments]

    def _supersede(self, key: str, about: str | None) -> None:
        topic = TOPICS.get(key)
        if topic is None:
            return
        for w in [w for w in self.waiting.prompts if TOPICS.get(w.key) == topic and w.key != key and w.about == about]:
            self.waiting.remove(w)
            self._finish(w)
        current = self._current
        if current is not None and TOPICS.get(current.key) == topic and current.key != key and current.about == about:
            current.superseded = True
            self._poke.set()

    def hold(self, level: int) -> Callable[[], None]:
        """Hold back prompts less urgent than `level` until the returned release is called."""
        return self.waiting.hold(level)

    def recent(self) -> list[dict[str, Any]]:
        return list(self.history)

    async def warm(self, keys: list[str] | None = None) -> None:
        """Render ahead of need ([voice] prerender: hub.speech.render.prerender), unless speech is off."""
        if self.enabled:
            await prerender(self.renderer, self.cache_dir, keys)

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
            u = await self.waiting.take()
            if not u.vetted:
                self._settling = u  # still "being said" to say(): a second ask while it settles is the same
                await self.gate.settle(u.segments or [])
                self._settling = None
            if self._vet(u):
                return u
            self._finish(u)

    def _vet(self, u: Utterance) -> bool:
        """Said as it is, said with its `unless` wording instead, or (False) not said at all: a claim
        whose fact does not hold now (hub.speech.claims)."""
        if u.segments is None:
            return True
        resumed, u.vetted = u.vetted, True
        segments = self.gate.check(u.segments, resumed)
        if segments is None:
            log.info("not said: %s (its claim does not hold)", u.key)
            return False
        if segments is not u.segments:
            u.segments, u.key, u.about = segments, segments[0][0], segments[0][2]
            u.parts = self._parts(segments)
            log.info("say [%s] instead: %s", u.key, u.text)
        return True

    def _resume_later(self, u: Utterance) -> None:
        """`u` resumes (keeping its place) after what pre-empted it; prompts said as one (a reading and
        its advice) start again from the first, so the advice is never heard apart from its reading."""
        self._broke_in = True
        if u.segments is not None and len(u.segments) > 1:
            u.parts = self._parts(u.segments)
        self.waiting.put_back(u)


    async def _play(self, u: Utterance) -> None:
        self._current = u
        if u.level >= IMPORTANT and (self.now() - self._last_end >= CHIME_AFTER_IDLE_S or self._broke_in):
            wav = await asyncio.to_thread(chime, self.cache_dir, u.volume or 100)
            start = self.now()
            await self._out(wav, [], 0.0, u)
            self._record(None, "chime", start, self.now(), played=True, key="chime")
            if not self._vet(u):  # acknowledged during the chime: "正在呼叫" is no longer true
                self._current = None
                self._last_end = self.now()
                self._finish(u)
                return
        start, played = self.now(), True
        heard: list[str] = []
        first_wav = u.parts[0].wav if u.parts else None  # where the prompt was rendered (status, tests)
        self._broke_in = False
        while u.parts and not u.cancelled and not (heard and u.superseded):
            part = u.parts[0]
            try:
                if part.wav is None:
                    part.wav = await asyncio.to_thread(self.renderer.render, part.key or u.key, part.language,
                                                       u.volume, **(u.fields if part.fields is None else part.fields))
                first_wav = first_wav or part.wav
                stops = await asyncio.to_thread(pauses, part.wav)
                wav = part.wav if part.offset == 0 else await asyncio.to_thread(tail, part.wav, part.offset,
                                                                                self.cache_dir)
            except Exception as exc:  # no espeak-ng: the call still goes out, the LEDs still show it
                (log.debug if self._render_warned else log.warning)("cannot render prompt %s: %s", u.key, exc)
                self._render_warned, played = True, False
                u.parts.clear()
                break
            breaks = sentence_stops(part.text, stops)  # whole sentences: never inside one, never in a number
            stopped_at = await self._out(wav, [t - part.offset for t in breaks if t > part.offset], part.offset, u)
            if stopped_at is None:  # heard to its end
                heard.append(heard_text(part.text, stops, part.offset, None))
                u.parts.pop(0)
                if u.parts and self.waiting.urgent_over(u):  # a fire does not wait for a reading's advice
                    heard[-1] += "" if heard[-1][-1:] in "。！？；!?;" else "。"  # heard to its sentence end
                    self._resume_later(u)
                    break
                continue
            heard.append(heard_text(part.text, stops, part.offset, part.offset + stopped_at))
            part.offset += stopped_at
            if not u.cancelled and not u.superseded:
                self._resume_later(u)
            break
        self._current = None
        self._last_end = self.now()
        done = not u.parts or u.cancelled or u.superseded
        self._record(u if done else None, joined(heard), start, self._last_end,
                     played=played and any(heard), interrupted=not done, key=u.key,
                     cut=u.superseded and bool(u.parts), wav=first_wav, about=u)

    async def _out(self, wav: Path, stops: list[float], offset: float, u: Utterance) -> float | None:
        """Play `wav`; None once heard to the end, else the seconds heard when it was stopped: at once if
        `u` is cancelled, at the next of `stops` if something more urgent (or newer) is waiting."""
        self._playing = playing = asyncio.ensure_future(self.player.play(wav))
        return await play_until(playing, stops, self.now, self._poke, lambda: u.cancelled,
                                lambda: u.superseded or self.waiting.over(u))

    def _record(self, u: Utterance | None, text: str, start: float, end: float, *, played: bool,
                interrupted: bool = False, key: str | None = None, cut: bool = False,
                wav: Path | None = None, about: Utterance | None = None) -> None:
        entry = heard_entry(u, text, start, end, played=played, interrupted=interrupted, key=key, cut=cut,
                            wav=wav, about=about)
        self.history.append(entry)
        if self.record is not None:
            self.record.add(entry)
        if u is not None:
            self._finish(u, entry)

    def _finish(self, u: Utterance, entry: dict[str, Any] | None = None) -> None:
        if not u.done.done():
            u.done.set_result(entry or {"key": u.key, "text": "", "start": self.now(), "end": self.now(),
                                        "played": False, "cancelled": True})


def speech_from_config(config: Config, player: Player | None = None) -> SpeechQueue:
    """The hub's speech queue from [voice]: voice.speaker renders (voice pack, else espeak-ng), cached
    in state_dir; `player` defaults to [voice] player on [voice] device."""
    voice = config["voice"]
    speaker = Speaker.from_config(voice, config.state_dir)
    queue = SpeechQueue(SpeakerRenderer(speaker), player or AplayPlayer(voice["player"], voice["device"]),
                        speaker.cache_dir, enabled=voice["enabled"])
    queue.record = SpokenRecord(config.state_dir / FOLDER, voice["spoken_days"])
    return queue
