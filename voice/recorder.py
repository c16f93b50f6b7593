"""Record one prompt into a voice pack with arecord (alsa-utils), and say whether it is usable."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voice import audio, packs
from voice.catalogue import prompt

QUIET_DB = -45.0  # a voiced level below this is a microphone too far away (or not connected)


@dataclass(frozen=True)
class Take:
    path: Path
    duration_s: float
    loudness: audio.Loudness
    problems: tuple[str, ...]


def ensure_manifest(root: Path, *, rate: int, speaker: str, language: str, dialect: str) -> None:
    """A new pack folder gets a manifest from the recorder's options; an existing one is kept."""
    if (root / packs.MANIFEST).exists():
        return
    if not speaker:
        raise packs.PackError(f"{root} is a new pack: say who speaks with --speaker")
    text = (f'[pack]\nname = "{root.name}"\nlanguage = "{language}"\ndialect = "{dialect}"\n'
            f'speaker = "{speaker}"\nsample_rate = {rate}\n')
    audio.write_atomic(root / packs.MANIFEST, text.encode())


def record(key: str, root: Path, *, seconds: float, device: str = "") -> Take:
    """Record `key` at the pack's sample rate into root/KEY.wav (replacing a previous take only when done)."""
    p = prompt(key)
    if p.has_fields:
        raise packs.PackError(f"{key} has fields ({', '.join(sorted(p.sample))}): it is always synthesised")
    arecord = shutil.which("arecord")
    if arecord is None:
        raise packs.PackError("arecord not installed: apt-get install alsa-utils")
    rate = packs.load(root).sample_rate
    with tempfile.TemporaryDirectory(dir=root, prefix=".rec-") as tmp:
        take = Path(tmp) / f"{key}.wav"
        cmd = [arecord, "-q", *(["-D", device] if device else []), "-f", "S16_LE", "-c", "1", "-r", str(rate),
               "-d", str(max(1, round(seconds))), str(take)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
        if done.returncode != 0 or audio.wav_info(take) is None:
            raise packs.PackError(f"arecord failed ({done.stderr.strip()[-160:]}): check the microphone "
                                  f"and --device (arecord -l lists them)")
        level, problems = assess(take)
        info = audio.wav_info(take)
        target = root / f"{key}.wav"
        if not problems:
            audio.publish(take, target)
        return Take(target if not problems else take, info.duration_s if info else 0.0, level, problems)


def assess(take: Path) -> tuple[audio.Loudness, tuple[str, ...]]:
    """Is this take usable: loud enough to be a voice, and not clipped?"""
    level = audio.loudness(take)
    problems: list[str] = []
    if level.level_db < QUIET_DB:
        problems.append(f"almost silent ({level.level_db} dBFS): speak closer, or check the microphone")
    if level.clipping:
        problems.append(f"clipped ({level.clipped} samples at full scale): speak further from the microphone")
    return level, tuple(problems)
