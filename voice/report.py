"""What `hub voice check` reports: every prompt rendered as the hub would, and what a listener would get.

Per prompt: source (recording or TTS), the text as synthesised, the voice, the WAV, its duration,
loudness, peak and clipping; for Mandarin TTS also what espeak-ng's own phoneme transcription shows
(one tonal syllable per Han character, no switch to English). Then the keys the voice pack lacks.
"""

from __future__ import annotations

import re
import time
from typing import Any

from voice import audio
from voice.catalogue import catalogue, fields_of
from voice.library import PromptAudio, Rendered
from voice.phonemes import HAN, judge, transcribe
from voice.spoken_form import spoken_form
from voice.tts import TtsUnavailable

LEVEL_TOLERANCE_DB = 1.5
LATIN = re.compile(r"[A-Za-z]")


def check_prompt(pa: PromptAudio, r: Rendered) -> dict[str, Any]:
    item: dict[str, Any] = {"key": r.key, "language": r.language, "source": r.source, "text": r.text,
                            "voice": r.voice, "wav": str(r.wav), "duration": r.duration_s}
    problems: list[str] = []
    level = audio.loudness(r.wav)
    item.update(loudness=level.level_db, peak=level.peak_db, clipping=level.clipping, clipped_samples=level.clipped)
    if level.clipping:
        problems.append(f"clipped ({level.clipped} samples at full scale): record it again further from the mic")
    if r.normalised and abs(level.level_db - pa.level_db) > LEVEL_TOLERANCE_DB:
        problems.append(f"loudness {level.level_db} dBFS, not {pa.level_db} (±{LEVEL_TOLERANCE_DB})")
    han = len(HAN.findall(r.text))
    if r.source == "tts" and r.language.startswith("zh"):
        verdict = judge(r.text, r.voice, transcribe(spoken_form(r.text), r.voice))  # as synthesised
        item.update(han=han, syllables=verdict.syllables, phonemes=verdict.phonemes, spoken=spoken_form(r.text))
        if not verdict.ok:
            problems.append(f"voice {r.voice!r} {verdict.reason}")
        if LATIN.search(r.text):
            problems.append("Latin letters in the Mandarin text: the voice reads them as pinyin or English")
        if han and not 0.12 * han <= r.duration_s <= 0.6 * han + 1.5:
            problems.append(f"{r.duration_s:.1f} s of audio for {han} syllables")
    item["ok"] = not problems
    item["problems"] = problems
    return item


def check_all(pa: PromptAudio, languages: tuple[str, ...] = ("zh",)) -> dict[str, Any]:
    """Render and check every prompt of the catalogue (sample values for fields). Blocking."""
    started = time.monotonic()
    choice = pa.choice()
    pack = pa.pack()
    prompts: list[dict[str, Any]] = []
    for key, p in catalogue().items():
        for language in languages:
            missing_sample = sorted(f for f in fields_of(p) if f not in p.sample)
            if missing_sample:
                prompts.append({"key": key, "language": language, "ok": False,
                                "problems": [f"voice/prompts.toml [{key}] sample lacks {', '.join(missing_sample)}"]})
                continue
            try:
                prompts.append(check_prompt(pa, pa.render(key, language, **p.sample)))
            except (TtsUnavailable, audio.AudioError, OSError) as exc:
                prompts.append({"key": key, "language": language, "ok": False, "problems": [str(exc)]})
    recordable = [k for k, p in catalogue().items() if not p.has_fields]
    return {
        "espeak": choice.espeak,
        "voice": {"configured": choice.configured, "chosen": choice.voice, "reads_mandarin": choice.mandarin,
                  "refused": choice.refused},
        "level_db": pa.level_db,
        "sox": audio.sox_binary() is not None,
        "pack": None if pack is None else {
            "path": str(pack.root), "name": pack.name, "language": pack.language, "dialect": pack.dialect,
            "speaker": pack.speaker, "sample_rate": pack.sample_rate, "recordings": sorted(pack.recordings),
            "unknown_files": list(pack.unknown)},
        "prompts": prompts,
        "missing": pack.missing() if pack else recordable,
        "tts_only": sorted(k for k, p in catalogue().items() if p.has_fields),
        "ok": all(p["ok"] for p in prompts) and choice.mandarin and not choice.refused,
        "render_s": round(time.monotonic() - started, 2),
    }

