"""Playing a WAV for the speech queue (hub.core.speech), and knowing how long it lasts.

`AplayPlayer` runs `aplay`, which blocks for the WAV's real length. When there is no player or no
audio device (a unit whose speaker is unplugged, a desk running the simulation), it waits the WAV's
length instead, once logged: the resident's timings (repeats, the fall countdown) stay the same
whether or not the sound comes out. `TimedPlayer` only waits the WAV's length: tests use it on a
loop whose clock they control. The chime that precedes important prompts is generated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil
import struct
import wave
from pathlib import Path
from typing import Protocol

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


def chime(cache_dir: Path, volume: int = 100) -> Path:
    """Blocking: the chime WAV (16-bit mono), written once per volume into the voice cache."""
    path = cache_dir / f"chime-{volume}.wav"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    amplitude = 0.45 * 32767 * min(volume, 200) / 200
    frames = bytearray()
    for freq, seconds in CHIME_TONES:
        n = int(seconds * CHIME_RATE)
        for i in range(n):
            envelope = math.exp(-4.0 * i / n) * min(1.0, i / 200)  # struck, then dying away; no click
            frames += struct.pack("<h", int(amplitude * envelope * math.sin(2 * math.pi * freq * i / CHIME_RATE)))
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(CHIME_RATE)
        w.writeframes(bytes(frames))
    tmp.replace(path)
    return path
