"""Mandarin prompt text -> what the synthesiser should read: numbers, units and symbols as words.

espeak-ng reads "38.5度" as "三十八五度" (it drops the point), "厨房/开窗" with an English "slash" and
"%" not at all. Every Mandarin prompt goes through `normalise_zh` before synthesis, so the text sent
to espeak-ng holds Han characters and Chinese punctuation only:

    "38.5度" -> "三十八点五度"      "135/85" -> "一百三十五，八十五"      "85%" -> "百分之八十五"
    "08:30"  -> "早上八点三十分"  "-3℃"    -> "零下三度"                "厨房/开窗" -> "厨房，开窗"
    "1202室" -> "幺二零二室"        "B3-1202" -> "三，幺二零二"           "duty01已收到" -> "零幺已收到"
    "电话021-5888 1234" -> "电话零二幺，五八八八，幺二三四"

Pure functions, no I/O: tests/test_voice_normalise.py holds the tables.
"""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ((1000, "千"), (100, "百"), (10, "十"))
_BIG_UNITS = ((10**8, "亿"), (10**4, "万"))

# Units after a number, longest first; read in Mandarin. "%" is handled apart (百分之 comes first).
UNITS: tuple[tuple[str, str], ...] = (
    ("mmol/L", "毫摩尔每升"), ("mg/dL", "毫克每分升"), ("mmHg", "毫米汞柱"), ("bpm", "次每分钟"),
    ("次/分", "次每分钟"), ("°C", "度"), ("℃", "度"), ("°", "度"), ("kg", "公斤"), ("km", "公里"),
    ("cm", "厘米"), ("mm", "毫米"), ("ml", "毫升"), ("mL", "毫升"), ("kPa", "千帕"), ("min", "分钟"),
)
# Symbols anywhere in the text -> what is said (or a pause). Chinese punctuation is kept: espeak-ng pauses on it.
SYMBOLS: dict[str, str] = {
    "/": "，", "\\": "，", "|": "，", "&": "和", "+": "加", "=": "等于", "~": "到", "～": "到",
    "…": "，", "—": "，", "–": "，", "(": "，", ")": "，", "（": "，", "）": "，", "[": "，", "]": "，",
    "【": "，", "】": "，", "「": "", "」": "", "“": "", "”": "", "‘": "", "’": "", '"': "", "'": "",
    "*": "", "#": "号", "@": "", "_": "", "·": "", "%": "", "°": "度", "℃": "度", "<": "小于",
    ">": "大于", "≤": "小于等于", "≥": "大于等于", ",": "，", ".": "。", "?": "？", "!": "！",
    ";": "；", ":": "：", "-": "，",
}
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"％": "%", "／": "/", "．": ".",
                                                                          "：": ":", "－": "-", "＋": "+"})
_UNIT_RE = "|".join(re.escape(u) for u, _ in UNITS)
_NUMBER = r"\d+(?:\.\d+)?"
# Codes read digit by digit: letters and digits mixed ("B3-1202", "A12"), a number of 3 or more digits
# before a word that makes it a room or a door (1202室), or after one that makes it an id (房间1202).
_CODE = r"(?<![A-Za-z0-9])(?=[A-Za-z0-9_-]*[A-Za-z])(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*"
_CODE_AFTER = "室|房|号|栋|幢|单元|楼|层|门"
_CODE_BEFORE = "房间|房号|门牌|编号|尾号|号码|工号|卡号|栋|幢|单元"
# A number after a word that makes it a telephone number is read digit by digit in its groups, as written
# with hyphens or spaces ("电话021-5888 1234" -> 零二幺，五八八八，幺二三四; "打电话120" -> 幺二零).
_PHONE_BEFORE = "电话|拨打|热线|手机|致电"
_PHONE = re.compile(rf"((?:{_PHONE_BEFORE})\s*[:：]?\s*)(\d+(?:[-\s]\d+)*)")
_LATIN = re.compile(r"[A-Za-z]+")


def integer_zh(n: int) -> str:
    """Cardinal number as spoken: 0 零, 10 十, 15 十五, 105 一百零五, 2005 两千零五, 120000 十二万."""
    if n < 0:
        return "负" + integer_zh(-n)
    if n == 0:
        return DIGITS[0]
    text = _below_1e12(n)
    return text[1:] if text.startswith("一十") else text


def _below_1e12(n: int) -> str:
    out, pending_zero = "", False
    for value, unit in _BIG_UNITS:
        if n >= value:
            group = n // value
            out += ("两" if group == 2 else _below_10000(group)) + unit
            n %= value
            pending_zero = 0 < n < value // 10
    if n:
        out += (DIGITS[0] if pending_zero else "") + _below_10000(n)
    return out


def _below_10000(n: int) -> str:
    out, zero = "", False
    for value, unit in _SMALL_UNITS:
        digit = n // value
        n %= value
        if digit:
            if zero:
                out += DIGITS[0]
            # 两百, 两千: the spoken form of a leading 2 before 百/千 (but 二十, and 一百二十)
            out += ("两" if digit == 2 and value >= 100 and not out else DIGITS[digit]) + unit
            zero = False
        elif out:
            zero = True
    if n:
        out += (DIGITS[0] if zero else "") + DIGITS[n]
    return out


def number_zh(text: str) -> str:
    """"38.5" -> 三十八点五, "0.25" -> 零点二五 (digits after the point one by one), "-2" -> 负二."""
    sign = ""
    if text.startswith(("-", "−")):
        sign, text = "负", text[1:]
    whole, _, frac = text.partition(".")
    spoken = integer_zh(int(whole)) if whole else DIGITS[0]
    if frac:
        spoken += "点" + "".join(DIGITS[int(d)] for d in frac)
    return sign + spoken


def digits_zh(text: str) -> str:
    """A code or a year read digit by digit: "2024" -> 二零二四."""
    return "".join(DIGITS[int(d)] for d in text)


def code_zh(text: str) -> str:
    """A room number, an id or a phone number, digit by digit, 1 as 幺 (yāo) the way such numbers are read
    aloud, so it is never heard as a quantity nor 一 (yī) mistaken for 七 (qī): "1202" -> 幺二零二."""
    return "".join("幺" if d == "1" else DIGITS[int(d)] for d in text)


def _code(match: re.Match[str]) -> str:
    """"B3-1202" -> 三，幺二零二: the digit groups of a code; its Latin letters are not said."""
    groups = [code_zh(g) for g in re.findall(r"\d+", match[0])]
    return "，".join(groups)


def time_zh(hours: int, minutes: int) -> str:
    """"8:05" -> 八点零五分, "12:00" -> 十二点, "14:30" -> 十四点三十分, "2:00" -> 两点 (a clock's two is 两)."""
    spoken = ("两" if hours == 2 else integer_zh(hours)) + "点"
    if minutes:
        spoken += ("零" if minutes < 10 else "") + integer_zh(minutes) + "分"
    return spoken


# The part of the day an older listener names a time by, up to (not including) each hour: she says
# "晚上七点二十分", and hears "十九点二十分" as a station announcement to work out.
DAY_PARTS = ((5, "凌晨"), (9, "早上"), (12, "上午"), (13, "中午"), (18, "下午"), (24, "晚上"))


def clock_zh(hours: int, minutes: int) -> str:
    """A time of day as she would say it: 19:20 -> 晚上七点二十分, 9:01 -> 上午九点零一分, 12:30 ->
    中午十二点三十分, 0:10 -> 凌晨零点十分."""
    part = next(word for end, word in DAY_PARTS if hours < end)
    return part + time_zh(hours - 12 if hours > 12 else hours, minutes)


def normalise_zh(text: str) -> str:
    """Prompt text -> the text the Mandarin voice reads: no digits, no symbols espeak-ng would spell out."""
    s = text.translate(_FULLWIDTH)
    # a time in the text (a notice, a reminder) as she would say it: 14:30 -> 下午两点三十分
    s = re.sub(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)", lambda m: clock_zh(int(m[1]), int(m[2])), s)
    s = re.sub(r"(\d{4})(?=年)", lambda m: digits_zh(m[1]), s)
    s = _PHONE.sub(lambda m: m[1] + "，".join(code_zh(g) for g in re.findall(r"\d+", m[2])), s)
    s = re.sub(rf"({_CODE_BEFORE})\s*(\d+)", lambda m: m[1] + code_zh(m[2]), s)  # 房间1202, 尾号5678
    s = re.sub(rf"(?<![\d.])(\d{{3,}})(?=\s*(?:{_CODE_AFTER}))", lambda m: code_zh(m[1]), s)  # 1202室
    s = re.sub(rf"({_NUMBER})/({_NUMBER})", lambda m: f"{m[1]}，{m[2]}", s)  # 135/85: a blood-pressure pair
    s = re.sub(rf"[-−]({_NUMBER})\s*(?:°C|℃|°|度)", lambda m: "零下" + number_zh(m[1]) + "度", s)
    s = re.sub(rf"(?<![\d.A-Za-z])[-−]({_NUMBER})", lambda m: "负" + m[1], s)
    s = re.sub(rf"({_NUMBER})\s*%", lambda m: "百分之" + number_zh(m[1]), s)
    s = re.sub(rf"({_NUMBER})\s*({_UNIT_RE})", lambda m: m[1] + dict(UNITS)[m[2]], s)
    s = re.sub(_CODE, _code, s)  # "B3-1202", "A12": a code with letters; its digits one by one
    s = re.sub(rf"({_NUMBER})\s*[-~～到]\s*({_NUMBER})", lambda m: f"{m[1]}到{m[2]}", s)
    s = re.sub(r"\d{7,}", lambda m: code_zh(m[0]), s)  # a phone number: digit by digit
    s = re.sub(_NUMBER, lambda m: number_zh(m[0]), s)
    s = _LATIN.sub("", s)  # a Latin word (a login, a name) is never handed to the Mandarin voice
    s = "".join(SYMBOLS.get(ch, ch) for ch in s)
    s = re.sub(r"\s+", "", s)  # Mandarin has no spaces; a stray one makes espeak-ng pause mid-word
    s = re.sub(r"[，、；：]{2,}", "，", s)
    s = re.sub(r"([。？！])[。？！，、；：]+", r"\1", s)  # "……" or "?!" : one stop
    s = re.sub(r"^[，。；：、]+|[，、；：]+(?=[。？！])", "", s)
    return re.sub(r"，+$", "。", s)
