"""Playing a WAV for the speech queue (hub.speech.queue), stopping it at a sentence end when something more
urgent waits (`play_until`), and knowing how long it lasts.

`AplayPlayer` runs `aplay`, which blocks for the WAV's real length. When there is no player or no
audio device (a unit whose speaker is unplugged, a desk running the simulation), it waits the WAV's
length instead, once logged: the resident's timings (repeats, the fall countdown) stay the same
whether or not the sound comes out. `TimedPlayer` only waits the WAV's length: tests use it on a
loop whose clock they control. The chime that precedes important prompts is generated here.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import io
import logging
import math
import shutil
import struct
import sys
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from voice.audio import wav_info, write_atomic

log = logging.getLogger(__name__)

CHIME_TONES = ((988.0, 0.16), (784.0, 0.26))  # a soft "ding-dong" (B5, G5), 0.42 s in all
CHIME_RATE = 22050


class Player(Protocol):
    async def play(self, wav: Path) -> None:
        """Return when the WAV has been heard; cancelling stops it at once."""
        ...


def wav_seconds(wav: Path) -> float:
    """The real length of a WAV file (frames / rate)."""
    with wave.open(str(wav), "rb") as w:
        return w.getnframes() / float(w.getframerate())


class TimedPlayer:
    """Plays nothing and takes exactly the WAV's length (on the running loop's clock)."""

    async def play(self, wav: Path) -> None:
        await asyncio.sleep(await asyncio.to_thread(wav_seconds, wav))


class AplayPlayer:
    def __init__(self, command: str = "aplay", device: str = "") -> None:
        self.command = command
        self.device = device
        self._warned = False
        self._timed = TimedPlayer()

    async def play(self, wav: Path) -> None:
        if not shutil.which(self.command):
            self._warn(f"no player '{self.command}' (apt-get install alsa-utils): prompts are timed, not heard")
            await self._timed.play(wav)
            return
        cmd = [self.command, "-q", *(["-D", self.device] if self.device else []), str(wav)]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await proc.communicate()
        except asyncio.CancelledError:  # pre-empted or answered: stop the sound now
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            self._warn(f"no audio output ({err.decode(errors='replace').strip()[-120:]}); "
                       "check the speaker and [voice] device; prompts are timed, not heard")
            await self._timed.play(wav)

    def _warn(self, message: str) -> None:
        # Once loudly, then quietly: a unit without a speaker must not fill its SD card with logs.
        (log.debug if self._warned else log.warning)(message)
        self._warned = True


async def play_until(playing: asyncio.Future[Any], stops: list[float], now: Callable[[], float],
                     poke: asyncio.Event, cancelled: Callable[[], bool], give_way: Callable[[], bool]) -> float | None:
    """Wait for `playing` (a Player's play(), just started); None once heard to the end, else the seconds
    heard when it was stopped: at once once `cancelled()`, at the next of `stops` (seconds into it) once
    `give_way()` (something more urgent or newer waits). `poke` is set whenever either may have changed."""
    began = now()
    try:
        while not playing.done():
            poke.clear()
            if cancelled():
                playing.cancel()
                break
            if give_way():
                elapsed = now() - began
                stop = next((t for t in stops if t > elapsed), None)
                if stop is not None:
                    await asyncio.wait({playing}, timeout=stop - elapsed)
                    if not playing.done():
                        playing.cancel()
                        await asyncio.wait({playing})
                        return stop
                    break
            poked = asyncio.ensure_future(poke.wait())
            await asyncio.wait({playing, poked}, return_when=asyncio.FIRST_COMPLETED)
            poked.cancel()
        await asyncio.wait({playing})
    finally:
        if not playing.done():
            playing.cancel()  # the worker itself is being cancelled
    return round(now() - began, 3) if playing.cancelled() else None


def chime(cache_dir: Path, volume: int = 100) -> Path:
    """Blocking: the chime WAV (16-bit mono), written once per volume into the voice cache, atomically
    (a power cut leaves the old file or the new, never an empty one); a file that is not a whole WAV
    (empty, cut short, unreadable) is made again."""
    path = cache_dir / f"chime-{volume}.wav"
    if wav_info(path) is not None:
        return path
    if path.exists() or path.is_symlink():
        log.warning("voice cache: %s is not a whole WAV (%s bytes; a power cut?): made again", path.name,
                    _size(path))
    amplitude = 0.45 * 32767 * min(volume, 200) / 200
    frames = bytearray()
    for freq, seconds in CHIME_TONES:
        n = int(seconds * CHIME_RATE)
        for i in range(n):
            envelope = math.exp(-4.0 * i / n) * min(1.0, i / 200)  # struck, then dying away; no click
            frames += struct.pack("<h", int(amplitude * envelope * math.sin(2 * math.pi * freq * i / CHIME_RATE)))
    write_atomic(path, _wav_bytes(1, 2, CHIME_RATE, bytes(frames)))
    return path


def _wav_bytes(channels: int, width: int, rate: int, frames: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buffer.getvalue()


def _size(path: Path) -> str:
    try:
        return str(path.stat().st_size)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


PAUSE_MIN_S = 0.15  # a stretch this long below the silence level is a pause between clauses
WINDOW_S = 0.01


def pauses(wav: Path) -> list[float]:
    """Where a prompt may be interrupted: the middle of each pause inside it (16-bit PCM, seconds from
    the start; leading and trailing silence excluded). A recording's pauses count as well as TTS's."""
    with wave.open(str(wav), "rb") as w:
        if w.getsampwidth() != 2:
            return []
        channels, rate = w.getnchannels(), w.getframerate()
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    step = max(1, int(rate * WINDOW_S)) * channels
    peaks = [max(max(chunk), -min(chunk)) for chunk in
             (samples[i:i + step] for i in range(0, len(samples), step)) if len(chunk)]
    if not peaks:
        return []
    quiet = max(300, int(0.04 * max(peaks)))
    voiced = [i for i, p in enumerate(peaks) if p >= quiet]
    if not voiced:
        return []
    out, run_start = [], None
    for i in range(voiced[0], voiced[-1] + 1):
        if peaks[i] < quiet:
            run_start = i if run_start is None else run_start
        elif run_start is not None:
            if (i - run_start) * WINDOW_S >= PAUSE_MIN_S:
                out.append(round((run_start + i) / 2 * WINDOW_S, 3))
            run_start = None
    return out


def tail(wav: Path, offset_s: float, cache_dir: Path) -> Path:
    """Blocking: the rest of `wav` from `offset_s` (what an interrupted prompt resumes with), cached."""
    path = cache_dir / f"{wav.stem}-from-{round(offset_s * 1000)}ms.wav"
    if wav_info(path) is not None:
        return path
    with wave.open(str(wav), "rb") as src:
        params = src.getparams()
        src.setpos(min(params.nframes, int(offset_s * params.framerate)))
        frames = src.readframes(params.nframes)
    write_atomic(path, _wav_bytes(params.nchannels, params.sampwidth, params.framerate, frames))
    return path
