"""Normalised Mandarin -> the characters espeak-ng is given: homophones for the words it misreads.

espeak-ng's Mandarin dictionary reads one pronunciation per character for many polyphones and knows
no 一/不 tone sandhi: 回应 comes out huí-yīng, 尽快 jìn-kuài, 测量 cè-liàng, 处理 chù-lǐ, 摔倒 shuāi-dào,
一下 yī-xià, 不再 bù-zài. A word it misreads is handed to it as characters of the same sound that it
reads right (回映, 紧快, 测粮, 除理, 摔岛; 一 before a fourth tone as 移 yí, before another tone as 亿 yì;
不 before a fourth tone as 醭 bú). Only the synthesiser sees this form: what is shown and kept on record
is the prompt's own words. tests/test_voice_phonemes.py checks every prompt against pypinyin's
phrase-aware reading, tone included for every polyphone (docs/voice.md "Polyphones").
"""

from __future__ import annotations

import re

# word -> the same sound in characters espeak-ng reads right (checked by tests/test_voice_phonemes.py)
WORDS: dict[str, str] = {
    "回应": "回映",  # huíyìng: espeak reads 应 yīng
    "答应": "答映",  # dāying: espeak yīng (neutral in speech; yìng is accepted)
    "尽快": "紧快",  # jǐnkuài: espeak jìn
    "尽量": "紧量",  # jǐnliàng
    "测量": "测粮",  # cèliáng: espeak liàng
    "量血压": "粮血压",  # liáng xuèyā
    "处理": "除理",  # chǔlǐ, said chúlǐ (third-tone sandhi): espeak chù
    "摔倒": "摔岛",  # shuāidǎo: espeak dào
    "跌倒": "跌岛",  # diēdǎo
    "个呼叫": "各呼叫",  # 两个呼叫 liǎng gè: espeak reads 个 with a wrong tone (a reminder's {what})
}
# Characters of the fourth tone that follow 一 and 不 in the prompts and in the numbers of voice.normalise
FOURTH = set("下个各次定样段半位块件面共切再会遍辈并道向致阵趟旦律概万亿是要用够对过到在见变动断错必正认记")
# Not a sandhi 一: an ordinal (第一), the end of a number (十一, 零一), a digit among digits (一一零)
_NOT_AFTER = set("第十零幺一二三四五六七八九两")
_NOT_BEFORE = set("十零幺一二三四五六七八九两")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile("|".join(sorted(map(re.escape, WORDS), key=len, reverse=True)))


def spoken_form(text: str) -> str:
    """The text with each misread word replaced by its homophone, and 一/不 sandhi written out."""
    s = _WORDS.sub(lambda m: WORDS[m[0]], text)
    out = []
    for i, ch in enumerate(s):
        after = s[i + 1] if i + 1 < len(s) else ""
        before = s[i - 1] if i else ""
        if ch == "一" and _HAN.match(after) and before not in _NOT_AFTER and after not in _NOT_BEFORE:
            ch = "移" if after in FOURTH else "亿"
        elif ch == "不" and after in FOURTH:
            ch = "醭"
        out.append(ch)
    return "".join(out)
