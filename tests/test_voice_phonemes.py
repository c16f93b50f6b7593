"""Every prompt is intelligible Mandarin: espeak-ng's own phonemes checked against pypinyin, syllable by syllable.

For each prompt of the catalogue (sample values filled in) the text as synthesised goes through
espeak-ng with the voice the hub chose (`-q -x`, phoneme mnemonics), and is compared with the pinyin
pypinyin gives for the same characters, read by the same espeak-ng as pinyin: no switch to another
language, one syllable with a tone contour per Han character, the same consonants and vowels in each
syllable, and the same tone for nearly all of them (espeak-ng's dictionary misreads a few polyphones,
e.g. 倒 in 摔倒 as dào: docs/voice.md). A voice that does not read Mandarin fails the same check.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pypinyin import Style, lazy_pinyin

from voice.catalogue import catalogue
from voice.library import PromptAudio
from voice.phonemes import HAN, SWITCH, Prober, judge, transcribe

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
PINYIN_VOICE = "cmn-latn-pinyin"  # reads Latin letters as pinyin: the reference reading of pypinyin's output
TONE_AGREEMENT = 0.95
THIRD, NEUTRAL = ("214", "21", "213"), ("11", "22", "33", "44")  # full and half third tone; neutral tone pitches


def tone_class(contour: str) -> str:
    """The tone a contour stands for: 214 and 21 are both the third tone (21 before another syllable)."""
    return "3" if contour in THIRD else "0" if contour in NEUTRAL else contour


def chunks(phonemes: str) -> list[tuple[str, str]]:
    """(segments, tone contour) per syllable; stress marks and word separators dropped, so a Han reading and
    a pinyin reading of the same syllables give the same list."""
    flat = re.sub(r"[_|',\s]", "", SWITCH.sub("", phonemes))
    return re.findall(r"([^0-9]*)([0-9]+)", flat)


def expected(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    han = "".join(HAN.findall(text))
    syllables = lazy_pinyin(han, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)
    return syllables, chunks(transcribe(" ".join(syllables), PINYIN_VOICE))


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> PromptAudio:
    state = tmp_path_factory.mktemp("state")
    return PromptAudio(state / "voice-cache", state_dir=state)


def rendered_texts(audio: PromptAudio) -> list[tuple[str, str, str]]:
    return [(key, audio.text(key, "zh", **p.sample), audio.choice().voice) for key, p in catalogue().items()]


def compare(text: str, voice: str) -> tuple[list[str], int]:
    """Problems with this reading, and how many syllables' tones differ from pypinyin's."""
    got_ph = transcribe(text, voice)
    verdict = judge(text, voice, got_ph)
    if not verdict.ok:
        return [verdict.reason], 0
    pinyin, want = expected(text)
    got = chunks(got_ph)
    if len(got) != len(want):
        return [f"{len(got)} syllables, pinyin has {len(want)}"], 0
    problems = [f"{HAN.findall(text)[i]} read {g[0]}{g[1]}, pinyin {pinyin[i]} is {w[0]}{w[1]}"
                for i, (g, w) in enumerate(zip(got, want, strict=True)) if g[0] != w[0]]
    return problems, sum(tone_class(g[1]) != tone_class(w[1]) for g, w in zip(got, want, strict=True))


def test_every_prompt_reads_as_mandarin_syllable_by_syllable(audio: PromptAudio) -> None:
    bad: list[str] = []
    tone_differences = syllables = 0
    for key, text, voice in rendered_texts(audio):
        assert not re.search(r"[0-9A-Za-z/%°]", text), f"{key}: {text!r} still holds digits or symbols"
        problems, tones = compare(text, voice)
        bad += [f"{key}: {p}" for p in problems]
        tone_differences += tones
        syllables += len(HAN.findall(text))
    assert bad == [], "prompts espeak-ng does not read as written (reword them, docs/voice.md):\n" + "\n".join(bad)
    assert syllables > 300
    assert 1 - tone_differences / syllables >= TONE_AGREEMENT, f"{tone_differences}/{syllables} tones differ"


def test_every_syllable_carries_a_tone(audio: PromptAudio) -> None:
    for key, text, voice in rendered_texts(audio):
        tones = [t for _, t in chunks(transcribe(text, voice))]
        assert len(tones) == len(HAN.findall(text)), key
        assert all(2 <= len(t) <= 3 for t in tones), f"{key}: {tones}"
        assert len(set(tones)) > 1 or len(tones) < 3, f"{key}: one flat tone for every syllable"


@pytest.mark.parametrize("wrong", ["cmn" if "(en)" in transcribe("已取消", "cmn") else "en", "en", "yue"])
def test_a_voice_that_does_not_read_mandarin_fails(audio: PromptAudio, wrong: str) -> None:
    failed = [key for key, text, _ in rendered_texts(audio) if compare(text, wrong)[0]]
    assert failed == list(catalogue()), f"{wrong} passed for {set(catalogue()) - set(failed)}"


def test_the_probe_refuses_a_configured_voice_that_reads_english_and_names_the_remedy(tmp_path: Path) -> None:
    choice = Prober(tmp_path).choose("en")
    assert choice.voice != "en" and choice.mandarin
    assert "'en'" in choice.refused and "espeak_voice = \"auto\"" in choice.refused
    assert Prober(tmp_path).verdict(choice.voice).ok


def test_the_probe_is_cached_per_espeak_build(tmp_path: Path) -> None:
    first = Prober(tmp_path).choose("auto")
    cache = tmp_path / "voice-probe.json"
    assert cache.exists() and first.espeak in cache.read_text(encoding="utf-8")
    cache.write_text(cache.read_text(encoding="utf-8").replace(first.espeak, "eSpeak NG 0.0 (an older build)"),
                     encoding="utf-8")
    again = Prober(tmp_path)
    assert again._verdicts == {}, "another espeak-ng build must be probed again"
    assert again.choose("auto") == first
