"""Render text to WAV with espeak-ng, cached by content so each sentence is synthesised once.

This is the raw synthesiser: the text is rendered as given. Prompts go through voice.library, which
normalises the text (voice.normalise), picks a voice that reads Mandarin (voice.phonemes) and brings
the result to the common loudness (voice.audio).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voice.audio import publish, wav_info


class TtsUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Voice:
    name: str = "cmn-latn-pinyin"
    speed_wpm: int = 140
    amplitude: int = 100


def espeak_binary() -> str:
    for name in ("espeak-ng", "espeak"):
        found = shutil.which(name)
        if found:
            return found
    raise TtsUnavailable("espeak-ng not installed (apt-get install espeak-ng)")


@functools.cache
def _version_of(binary: str) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return " ".join(result.stdout.split()) or f"{binary} (no version)"


def espeak_version() -> str:
    """espeak-ng's version line, data path included ("eSpeak NG text-to-speech: 1.51 Data at: …"); "" if absent."""
    try:
        return _version_of(espeak_binary())
    except TtsUnavailable:
        return ""


def render(text: str, voice: Voice, cache_dir: Path) -> Path:
    """Blocking: the cached WAV for this text and voice, rendered if absent or not whole (a render cut short
    by a full disk or a power cut is detected by its header and rendered again, never served)."""
    key = hashlib.sha256(f"{voice.name}|{voice.speed_wpm}|{voice.amplitude}|{text}".encode()).hexdigest()
    path = cache_dir / f"{key[:24]}.wav"
    if wav_info(path) is None:
        synthesise(text, voice, path)
    return path


def synthesise(text: str, voice: Voice, path: Path) -> None:
    """Blocking: render `text` into `path`, atomically; TtsUnavailable if espeak-ng cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tts-") as tmp_dir:
        tmp = Path(tmp_dir) / "out.wav"
        cmd = [espeak_binary(), "-v", voice.name, "-s", str(voice.speed_wpm), "-a", str(voice.amplitude),
               "-w", str(tmp), "--", text]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TtsUnavailable(f"espeak-ng took over {exc.timeout:.0f} s for {text[:20]!r}") from None
        if result.returncode != 0 or wav_info(tmp) is None:
            raise TtsUnavailable(f"espeak-ng failed ({result.returncode}) or wrote no whole WAV "
                                 f"(disk full?): {result.stderr.decode(errors='replace')[-200:]}")
        publish(tmp, path)
