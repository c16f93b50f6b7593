"""Will the resident understand it? A notice's text is checked the way every catalogue prompt is
(voice.phonemes: espeak-ng's own transcription, one tonal Mandarin syllable per Han character, no switch
to English) and a recording is checked with sox (readable, mono, not too long) and brought to the common
loudness. Blocking: run off the loop (asyncio.to_thread). Refused notices name why (hub.notices.command)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from hub.notices.command import Refused
from voice import audio
from voice.normalise import UNITS, normalise_zh
from voice.phonemes import Prober, judge, transcribe
from voice.spoken_form import spoken_form
from voice.tts import TtsUnavailable

HAN = re.compile(r"[\u4e00-\u9fff]")
PUNCTUATION = set("，。！？；：、（）《》“”‘’—…·,.!?;:()%-/℃° ")
LATIN = re.compile(r"[A-Za-z]+")


def check_text(text: str, state_dir: Path, configured_voice: str) -> None:
    """Raises Refused: characters the voice cannot say, Latin words it would spell out, or a transcription
    that is not Mandarin syllable for syllable."""
    odd = sorted({c for c in text if not (HAN.match(c) or (c.isascii() and c.isalnum()) or c in PUNCTUATION)})
    if odd:
        raise Refused("unknown_characters", "characters the voice cannot say: " + " ".join(ascii(c) for c in odd[:8]))
    bare = text
    for unit, _word in UNITS:  # "mmHg", "km": said in Mandarin by the normaliser
        bare = bare.replace(unit, " ")
    latin = LATIN.findall(bare)  # the normaliser drops them silently: refuse rather than say half a notice
    if latin:
        raise Refused("latin_words", f"Latin letters the voice would spell out: {' '.join(latin[:5])[:60]}")
    said = normalise_zh(text)  # numbers, units and symbols as words, as for every prompt
    if not HAN.search(said):
        raise Refused("unintelligible", "no Mandarin words in the text")
    try:
        choice = Prober(state_dir).choose(configured_voice)
        form = spoken_form(said)
        verdict = judge(form, choice.voice, transcribe(form, choice.voice))
    except (TtsUnavailable, OSError, subprocess.SubprocessError) as exc:
        raise Refused("unintelligible", f"cannot check the text with espeak-ng: {exc}") from None
    if not verdict.ok:
        raise Refused("unintelligible", f"espeak-ng {choice.voice!r} {verdict.reason}")


def check_audio(data: bytes, fmt: str, dest: Path, max_s: float, level_db: float) -> float:
    """Check a recording and write it to `dest` as the common 22050 Hz mono WAV at `level_db`; its seconds."""
    sox = audio.sox_binary()
    if sox is None:
        raise Refused("audio_format", "sox is not installed on the unit: recordings cannot be checked")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".in-") as tmp:
        src = Path(tmp) / f"in.{fmt}"
        src.write_bytes(data)
        channels = _info(sox, src, "-c")
        seconds = _info(sox, src, "-D")
        if channels != 1:
            raise Refused("audio_format", f"recording has {channels:.0f} channels; send it mono")
        if seconds > max_s:
            raise Refused("too_long", f"recording of {seconds:.1f} s; at most {max_s:g} s ([notices] max_audio_s)")
        if seconds < 0.3:
            raise Refused("audio_format", f"recording of {seconds:.2f} s is too short to hear")
        try:
            audio.normalise(src, dest, level_db)
        except audio.AudioError as exc:
            raise Refused("audio_format", f"recording not usable: {str(exc)[-120:]}") from None
    return seconds


def _info(sox: str, path: Path, flag: str) -> float:
    result = subprocess.run([sox, "--i", flag, str(path)], capture_output=True, text=True, timeout=30, check=False)
    try:
        value = float(result.stdout.strip())
    except ValueError:
        raise Refused("audio_format", f"not a readable recording ({result.stderr.strip()[-80:] or 'unknown format'})") \
            from None
    return value
