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
from collections.abc import Callable
from pathlib import Path

import pytest
from pypinyin import Style, lazy_pinyin, pinyin

from voice.catalogue import catalogue
from voice.library import PromptAudio
from voice.phonemes import HAN, SWITCH, Prober, judge, transcribe
from voice.spoken_form import spoken_form

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


def polyphone(ch: str) -> bool:
    """A character with more than one reading: the phrase decides, so its tone must be right."""
    return len({r.rstrip("5") for r in pinyin(ch, style=Style.TONE3, heteronym=True)[0]}) > 1


def sandhi_tones(text: str) -> list[set[str]]:
    """The tones each syllable may be said with: pypinyin's phrase-aware reading; 一 and 不 by the textbook
    rule (一 yí / 不 bú before a fourth tone, 一 yì before another tone, yī ending a number or an ordinal);
    a third tone before a third tone either as written or as a second tone (espeak-ng does no 3-3 sandhi)."""
    han = HAN.findall(text)
    joined = [bool(HAN.match(text[m.end():m.end() + 1])) for m in HAN.finditer(text)]  # no pause after it
    citation = lazy_pinyin("".join(han), style=Style.TONE3, neutral_tone_with_five=True)
    said = lazy_pinyin("".join(han), style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)
    tones = [{p[-1]} for p in said]
    for i, ch in enumerate(han):
        nxt = citation[i + 1][-1] if joined[i] else ""
        if ch == "一" and nxt and (i == 0 or han[i - 1] not in "第十零一二三四五六七八九两") and \
                han[i + 1] not in "十零一二三四五六七八九两":
            tones[i] = {"2"} if nxt == "4" else {"4"}
        elif ch == "一":
            tones[i] = {"1"}
        elif ch == "不" and nxt:
            tones[i] = {"2"} if nxt == "4" else {"4"}
        elif citation[i][-1] == "3" and nxt == "3":
            tones[i] = {"2", "3"}
    return tones


def compare(text: str, voice: str, form: Callable[[str], str] = spoken_form) -> tuple[list[str], int]:
    """Problems with this reading, and how many syllables' tones differ from pypinyin's. espeak-ng reads the
    spoken form (voice.spoken_form: homophones for the words it misreads); the reference is the text's own
    words. A polyphone read with the wrong tone (回应 huí-yīng, 尽快 jìn-kuài) is a problem, not a tone slip."""
    got_ph = transcribe(form(text), voice)
    verdict = judge(text, voice, got_ph)
    if not verdict.ok:
        return [verdict.reason], 0
    syllables, want = expected(text)
    got = chunks(got_ph)
    if len(got) != len(want):
        return [f"{len(got)} syllables, pinyin has {len(want)}"], 0
    han = HAN.findall(text)
    problems = [f"{han[i]} read {g[0]}{g[1]}, pinyin {syllables[i]} is {w[0]}{w[1]}"
                for i, (g, w) in enumerate(zip(got, want, strict=True)) if g[0] != w[0]]
    allowed = sandhi_tones(text)
    reference = {t: tone_class(chunks(transcribe(f"a{t}", PINYIN_VOICE))[0][1]) for t in "12345"}
    problems += [f"{han[i]} in {''.join(han[max(0, i - 1):i + 2])} read with tone {g[1]}, said "
                 f"{'/'.join(syllables[i][:-1] + t for t in sorted(allowed[i]))}"
                 for i, g in enumerate(got) if (polyphone(han[i]) or han[i] in "一不")
                 and tone_class(g[1]) not in {reference[t] for t in allowed[i]}]
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


MISREAD = [("请尽快回应", ["尽", "应"]), ("血糖仪测量出错", ["量"]), ("社区会继续处理", ["处"]),
           ("请按一下按钮", ["一"]), ("温度已不再上升", ["不"]), ("您摔倒了吗", ["倒"]), ("血压一百三十五", ["一"])]


@pytest.mark.parametrize(("text", "chars"), MISREAD)
def test_the_check_catches_a_misread_polyphone_and_the_spoken_form_fixes_it(audio: PromptAudio, text: str,
                                                                            chars: list[str]) -> None:
    voice = audio.choice().voice
    problems, _ = compare(text, voice, form=lambda t: t)  # as espeak-ng reads the words themselves
    assert [p[0] for p in problems] == chars, problems
    assert compare(text, voice)[0] == []  # the homophones of voice.spoken_form read right


def test_yi_and_bu_follow_the_tone_after_them() -> None:
    assert spoken_form("请按一下按钮") == "请按移下按钮"  # yí before a fourth tone
    assert spoken_form("一百三十五") == "亿百三十五"  # yì before another tone
    assert spoken_form("第一，十一点，一一零") == "第一，十一点，一一零"  # ordinals and numbers keep yī
    assert spoken_form("不再") == "醭再" and spoken_form("不好") == "不好"


def test_the_hub_synthesises_the_spoken_form_and_shows_the_words(audio: PromptAudio) -> None:
    p = catalogue()["escalation_notifying"]
    r = audio.render(p.key, "zh", 100, **p.sample)
    assert "回应" in r.text  # what is shown and kept on record: the prompt's own words
    assert r.wav == audio._cached("tts", r.voice, str(audio.speed_wpm), spoken_form(r.text), "0.00")
    assert spoken_form(r.text) != r.text and "回映" in spoken_form(r.text)


def test_every_alarm_name_an_acknowledgement_can_say_reads_right(audio: PromptAudio) -> None:
    """The catalogue's sample names one alarm; the ack names any of them (hub.alarms.words)."""
    from hub.alarms.words import ALARM_WORDS, CALL_WORDS

    names = {zh for zh, _en in (*CALL_WORDS.values(), *ALARM_WORDS.values())} | {"烟雾报警", "呼叫", "报警"}
    voice = audio.choice().voice
    bad = {name: compare(audio.text("acknowledged_about", "zh", what=name, what_en=""), voice)[0]
           for name in sorted(names)}
    assert {k: v for k, v in bad.items() if v} == {}
