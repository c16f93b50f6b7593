"""Prompt key + fields -> the audio the resident hears: a recording from the voice pack, else TTS.

    audio = PromptAudio(state_dir / "voice-cache", state_dir=state_dir, voice="auto")
    r = audio.render("sensors_heat_alarm", "zh", temperature=36)      # blocking: run it off the loop
    r.text       "室内温度过高，现在三十六度，…"  (as synthesised: normalised; for a recording, the prompt)
    r.wav        Path of a whole 22050 Hz mono 16-bit WAV at the common loudness
    r.duration_s 5.9   (from the WAV header)
    r.source     "tts" | "recording";   r.voice  the espeak-ng voice, or "pack:NAME"

Every file is checked (voice.audio.wav_info) before it is served: a cached WAV cut short is rendered
again. Without sox the TTS output is used as espeak-ng wrote it (logged once).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import math
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice import audio, packs
from voice.catalogue import prompt
from voice.normalise import normalise_zh
from voice.phonemes import AUTO, Choice, Prober
from voice.spoken_form import spoken_form
from voice.tts import TtsUnavailable, Voice, synthesise

log = logging.getLogger(__name__)

RENDER_VERSION = 3  # bump when the pipeline changes what a cached file holds
CACHE_MAX_FILES = 600  # WAVs kept on the card: the catalogue in both languages and a few volumes
VOLATILE_MAX_FILES = 32  # WAVs of prompts with fields kept in RAM (a prompt waiting in the queue is newer)


def volatile_dir(state_dir: Path) -> Path | None:
    """A RAM directory for audio heard once: systemd's RuntimeDirectory ($RUNTIME_DIRECTORY, under /run,
    emptied when the service stops), else one in /dev/shm for this state dir and process, removed when
    the process exits; None where neither is writable (the card cache is used then)."""
    candidates = [Path(p) / "voice" for p in os.environ.get("RUNTIME_DIRECTORY", "").split(":") if p]
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    candidates.append(Path("/dev/shm") / f"eldercare-hub-{os.getuid()}-{digest}-{os.getpid()}" / "voice")
    for folder in candidates:  # created on the first render that needs it (mode 0700 from the umask)
        if os.access(folder.parent if folder.parent.exists() else folder.parent.parent, os.W_OK):
            if folder.parent.parent == Path("/dev/shm") and folder not in _SHM_CLEANUP:
                # no systemd to empty it at stop: this process removes it when it exits
                _SHM_CLEANUP.add(folder)
                atexit.register(shutil.rmtree, folder.parent, True)
            return folder
    return None


_SHM_CLEANUP: set[Path] = set()
LANGUAGE_TAGS = {"zh": "zh-CN", "en": "en"}


@dataclass(frozen=True)
class Rendered:
    key: str
    language: str  # BCP 47: "zh-CN", "en", or the pack's language for a recording
    source: str  # "tts" | "recording"
    text: str  # what was synthesised (normalised); for a recording, the catalogue text it stands for
    voice: str  # espeak-ng voice, or "pack:NAME"
    wav: Path
    duration_s: float
    normalised: bool  # brought to the common loudness (False only without sox)


class PromptAudio:
    """Thread-safe: the speaker renders on a worker thread while `hub voice` may render on its own."""

    def __init__(self, cache_dir: Path, *, state_dir: Path | None = None, voice: str = AUTO,
                 speed_wpm: int = 140, level_db: float = -23.0, pack_dir: Path | None = None,
                 volatile_dir: Path | None = None, cache_max_files: int = CACHE_MAX_FILES) -> None:
        self.cache_dir = cache_dir
        # Prompts with fields (a reading, a name, a time) are heard once: rendered in RAM, not on the card
        self.volatile_dir = volatile_dir
        self.cache_max_files = cache_max_files
        self.state_dir = state_dir
        self.configured_voice = voice
        self.speed_wpm = speed_wpm
        self.level_db = level_db
        self.pack_dir = pack_dir
        self._lock = threading.Lock()
        self._choice: Choice | None = None
        self._pack: packs.Pack | None = None
        self._pack_stamp: tuple[int, int, int] | None = None
        self._warned: set[str] = set()

    # --- what to say, with which voice ----------------------------------------------------------------
    def choice(self) -> Choice:
        """Blocking on first use: probe the voices (cached per espeak-ng build in state_dir)."""
        with self._lock:
            if self._choice is None:
                self._choice = Prober(self.state_dir).choose(self.configured_voice)
                if self._choice.refused:
                    log.error("%s", self._choice.refused)
                log.info("Mandarin voice: espeak-ng %r (%s)", self._choice.voice, self._choice.espeak or "absent")
            return self._choice

    def pack(self) -> packs.Pack | None:
        """The voice pack, re-read when `hub voice import` or `record` changed it (no restart needed)."""
        if self.pack_dir is None or not (self.pack_dir / packs.MANIFEST).exists():
            self._pack = self._pack_stamp = None
            return None
        try:
            folder, manifest = self.pack_dir.stat(), (self.pack_dir / packs.MANIFEST).stat()
            key = (folder.st_ino, folder.st_mtime_ns, manifest.st_mtime_ns)  # a new take changes the folder
            if key != self._pack_stamp:
                self._pack, self._pack_stamp = packs.load(self.pack_dir), key
                log.info("voice pack %r (%s, %s): %d recordings", self._pack.name, self._pack.language,
                         self._pack.speaker, len(self._pack.recordings))
        except (OSError, packs.PackError) as exc:
            self._warn(f"pack:{exc}", f"voice pack not used: {exc}")
            self._pack = None
        return self._pack

    @staticmethod
    def text(key: str, language: str, **fields: Any) -> str:
        """The text as synthesised: the catalogue text with its fields, normalised for Mandarin."""
        raw = prompt(key).text(language, **fields)
        return normalise_zh(raw) if language == "zh" else raw

    # --- rendering ---------------------------------------------------------------------------------------
    def render(self, key: str, language: str = "zh", volume: int = 100, **fields: Any) -> Rendered:
        """Blocking. The recording if the pack has one for this key (Mandarin-side prompts only), else TTS.
        `volume` is percent of the common level (the fall check's rising question uses 80..200)."""
        p = prompt(key)
        gain_db = 20 * math.log10(max(volume, 1) / 100)
        pack = self.pack() if language == "zh" else None
        recording = pack.recording(key) if pack and not fields else None
        if pack is not None and recording is not None:
            try:
                return self._recording(key, p.zh, pack, recording, gain_db)
            except (OSError, audio.AudioError) as exc:
                self._warn(f"rec:{key}", f"recording {recording} not used ({exc}); speaking {key} with TTS")
        return self._tts(key, language, self.text(key, language, **fields), gain_db, volume, bool(fields))

    def _recording(self, key: str, text: str, pack: packs.Pack, source: Path, gain_db: float) -> Rendered:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        path = self._cached("rec", digest, f"{gain_db:.2f}")
        if audio.wav_info(path) is None:
            audio.normalise(source, path, self.level_db, gain_db, trim=True)
        return self._done(key, pack.language, "recording", text, f"pack:{pack.name}", path, True)

    def _tts(self, key: str, language: str, shown: str, gain_db: float, volume: int,
             variable: bool = False) -> Rendered:
        """`shown`: the words (kept as Rendered.text); espeak-ng reads their spoken form (voice.spoken_form).
        `variable`: the text carries fields, so the WAV is kept in RAM (volatile_dir) if there is one."""
        voice = self.choice().voice if language == "zh" else "en"
        text = spoken_form(shown) if language == "zh" else shown
        home = self.volatile_dir if variable and self.volatile_dir is not None else self.cache_dir
        path = self._cached("tts", voice, str(self.speed_wpm), text, f"{gain_db:.2f}", home=home)
        if audio.wav_info(path) is not None:
            return self._done(key, LANGUAGE_TAGS.get(language, language), "tts", shown, voice, path, True)
        tag = LANGUAGE_TAGS.get(language, language)
        scratch = self.volatile_dir or home
        if audio.sox_binary() is not None:
            for folder in {home, scratch}:
                folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=scratch, prefix=".raw-") as tmp:
                raw = Path(tmp) / "raw.wav"
                synthesise(text, Voice(voice, self.speed_wpm, 100), raw)
                try:
                    audio.normalise(raw, path, self.level_db, gain_db, trim=True, scratch=scratch)
                    self._prune(home)
                    return self._done(key, tag, "tts", shown, voice, path, True)
                except audio.AudioError as exc:
                    self._warn("sox", f"prompts are not loudness-normalised: {exc}")
        else:
            self._warn("sox", "sox not installed (apt-get install sox): prompts are not loudness-normalised")
        # Without sox: espeak-ng's own output, its amplitude set from the volume.
        plain = self._cached("raw", voice, str(self.speed_wpm), text, str(min(volume, 200)))
        if audio.wav_info(plain) is None:
            synthesise(text, Voice(voice, self.speed_wpm, min(volume, 200)), plain)
        return self._done(key, tag, "tts", shown, voice, plain, False)

    def _cached(self, kind: str, *parts: str, home: Path | None = None) -> Path:
        digest = hashlib.sha256("|".join((str(RENDER_VERSION), kind, f"{self.level_db:.1f}", *parts)).encode())
        return (home or self.cache_dir) / f"{kind}-{digest.hexdigest()[:24]}.wav"

    def _prune(self, folder: Path) -> None:
        """Keep a cache folder bounded: past its limit the oldest WAVs go (rendered again if needed)."""
        limit = VOLATILE_MAX_FILES if folder == self.volatile_dir else self.cache_max_files
        try:
            wavs = [(f.stat().st_mtime_ns, f) for f in folder.glob("*.wav")]
        except OSError:
            return
        if len(wavs) <= limit:
            return
        for _, old in sorted(wavs)[: len(wavs) - limit]:
            with contextlib.suppress(OSError):
                old.unlink()

    @staticmethod
    def _done(key: str, language: str, source: str, text: str, voice: str, path: Path,
              normalised: bool) -> Rendered:
        info = audio.wav_info(path)
        if info is None:
            raise TtsUnavailable(f"{path} is not a whole WAV after rendering {key}")
        return Rendered(key, language, source, text, voice, path, round(info.duration_s, 3), normalised)

    def _warn(self, topic: str, message: str) -> None:
        (log.debug if topic in self._warned else log.warning)("%s", message)
        self._warned.add(topic)
