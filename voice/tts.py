"""Render prompts to WAV with espeak-ng, cached by content so each sentence is synthesised once."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class TtsUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Voice:
    name: str = "cmn"
    speed_wpm: int = 140
    amplitude: int = 100


def espeak_binary() -> str:
    for name in ("espeak-ng", "espeak"):
        found = shutil.which(name)
        if found:
            return found
    raise TtsUnavailable("espeak-ng not installed (apt-get install espeak-ng)")


def render(text: str, voice: Voice, cache_dir: Path) -> Path:
    """Blocking: returns the cached WAV for this text and voice, rendering it if needed."""
    key = hashlib.sha256(f"{voice.name}|{voice.speed_wpm}|{voice.amplitude}|{text}".encode()).hexdigest()
    path = cache_dir / f"{key[:24]}.wav"
    if path.exists() and path.stat().st_size > 44:
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    cmd = [espeak_binary(), "-v", voice.name, "-s", str(voice.speed_wpm), "-a", str(voice.amplitude),
           "-w", str(tmp), "--", text]
    result = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or not tmp.exists():
        raise TtsUnavailable(f"espeak-ng failed ({result.returncode}): {result.stderr.decode()[-200:]}")
    os.replace(tmp, path)
    return path
