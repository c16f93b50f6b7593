"""The normaliser's tables: numbers, units, times and symbols as a Mandarin listener expects them read."""

from __future__ import annotations

import re

import pytest

from voice.normalise import clock_zh, code_zh, digits_zh, integer_zh, normalise_zh, number_zh, time_zh

INTEGERS = [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (11, "十一"), (20, "二十"), (38, "三十八"), (100, "一百"),
    (101, "一百零一"), (110, "一百一十"), (120, "一百二十"), (135, "一百三十五"), (200, "两百"), (220, "两百二十"),
    (1000, "一千"), (1005, "一千零五"), (1050, "一千零五十"), (2005, "两千零五"), (10000, "一万"),
    (10010, "一万零一十"), (20000, "两万"), (100010, "十万零一十"), (120000, "十二万"), (100000000, "一亿"),
    (-7, "负七"),
]

NUMBERS = [("38.5", "三十八点五"), ("0.25", "零点二五"), ("7.8", "七点八"), ("-2", "负二"), ("10.05", "十点零五")]

TIMES = [((8, 5), "八点零五分"), ((12, 0), "十二点"), ((14, 30), "十四点三十分"), ((0, 10), "零点十分"),
         ((2, 0), "两点"), ((22, 2), "二十二点零二分")]  # two o'clock is 两点, never 二点
# A time of day said to the resident (which call an ack is about): the part of the day and a 12-hour clock.
CLOCK = [((0, 10), "凌晨零点十分"), ((4, 59), "凌晨四点五十九分"), ((5, 0), "早上五点"),
         ((8, 30), "早上八点三十分"), ((9, 1), "上午九点零一分"), ((12, 0), "中午十二点"),
         ((12, 45), "中午十二点四十五分"), ((13, 5), "下午一点零五分"), ((17, 59), "下午五点五十九分"),
         ((18, 0), "晚上六点"), ((19, 20), "晚上七点二十分"), ((23, 59), "晚上十一点五十九分"),
         ((14, 30), "下午两点三十分"), ((2, 5), "凌晨两点零五分")]

TEXTS = [
    ("38.5度", "三十八点五度"),
    ("135/85", "一百三十五，八十五"),
    ("血压135/85，正常", "血压一百三十五，八十五，正常"),
    ("血压135/85mmHg", "血压一百三十五，八十五毫米汞柱"),
    ("85%", "百分之八十五"),
    ("电量12.5%", "电量百分之十二点五"),
    # a time in a text (a notice, a reminder) as she says it, not a 24-hour clock to work out
    ("08:30", "早上八点三十分"),
    ("请在8:05吃药", "请在早上八点零五分吃药"),
    ("请于12月8日14:30到社区卫生服务中心体检", "请于十二月八日下午两点三十分到社区卫生服务中心体检"),
    ("-3℃", "零下三度"),
    ("现在-3度", "现在零下三度"),
    ("36°C", "三十六度"),
    ("36°", "三十六度"),
    ("厨房/开窗", "厨房，开窗"),
    ("血糖7.8mmol/L", "血糖七点八毫摩尔每升"),
    ("心率72次/分", "心率七十二次每分钟"),
    ("体重60kg", "体重六十公斤"),
    ("2024年", "二零二四年"),
    ("请拨打13912345678", "请拨打幺三九幺二三四五六七八"),  # digit by digit, 1 as 幺 (docs/voice.md)
    # a platform notice's phone number, written the usual ways: digit by digit in its groups (read as
    # "二十一到五千八百八十八一千二百三十四", a range of quantities, before), and 120 is 幺二零, not 一百二十
    ("体检请联系电话021-5888 1234", "体检请联系电话零二幺，五八八八，幺二三四"),
    ("热线：400-820-8820", "热线：四零零，八二零，八八二零"),
    ("手机 138 0013 8000", "手机幺三八，零零幺三，八零零零"),
    ("不舒服请打电话120", "不舒服请打电话幺二零"),
    ("请到1202室", "请到幺二零二室"),  # a room number: never 一千二百零二
    ("房间1202", "房间幺二零二"),
    ("门牌 305", "门牌三零五"),
    ("B3-1202的邻居", "三，幺二零二的邻居"),  # a door code: letters not said, digits one by one
    ("A-1202", "幺二零二"),
    ("3栋1202", "三栋幺二零二"),
    ("12号", "十二号"),  # a date or a small number stays a number
    ("工作人员console马上联系您", "工作人员马上联系您"),  # a Latin word never reaches the Mandarin voice
    ("operator 7已收到", "七已收到"),
    ("3-5分钟", "三到五分钟"),
    ("３８．５度", "三十八点五度"),
    ("５０％", "百分之五十"),
    ("正在呼叫社区，请稍候", "正在呼叫社区，请稍候"),
    ("看看(这个)…", "看看，这个。"),
    ("好的,谢谢!", "好的，谢谢！"),
    ("温度 36 度", "温度三十六度"),
    ("请按按钮，", "请按按钮。"),
    ("等一下...好吗?!", "等一下。好吗？"),
]


@pytest.mark.parametrize(("n", "spoken"), INTEGERS)
def test_integers(n: int, spoken: str) -> None:
    assert integer_zh(n) == spoken


@pytest.mark.parametrize(("text", "spoken"), NUMBERS)
def test_decimals(text: str, spoken: str) -> None:
    assert number_zh(text) == spoken


@pytest.mark.parametrize(("hm", "spoken"), TIMES)
def test_times(hm: tuple[int, int], spoken: str) -> None:
    assert time_zh(*hm) == spoken


@pytest.mark.parametrize(("hm", "spoken"), CLOCK)
def test_a_time_of_day_is_said_with_its_part_of_the_day(hm: tuple[int, int], spoken: str) -> None:
    assert clock_zh(*hm) == spoken


def test_digits_one_by_one() -> None:
    assert digits_zh("2024") == "二零二四"
    assert code_zh("1202") == "幺二零二" and code_zh("0101") == "零幺零幺"


@pytest.mark.parametrize("text", ["Wang Fang", "duty01", "console", "operator-7", "请联系Li", "ABC123def"])
def test_no_latin_letter_reaches_the_voice(text: str) -> None:
    assert not re.search(r"[A-Za-z0-9]", normalise_zh(text))


@pytest.mark.parametrize(("text", "spoken"), TEXTS)
def test_texts(text: str, spoken: str) -> None:
    assert normalise_zh(text) == spoken


@pytest.mark.parametrize(("text", "spoken"), TEXTS)
def test_normalising_twice_changes_nothing(text: str, spoken: str) -> None:
    assert normalise_zh(spoken) == spoken


@pytest.mark.parametrize("n", [0, 7, 19, 101, 999, 1001, 9999, 10001, 99999, 123456, 20000000, 300000001])
def test_no_digit_survives(n: int) -> None:
    spoken = normalise_zh(f"现在{n}度，{n}.5%，{n}/{n}")
    assert not re.search(r"[0-9/%°.]", spoken), spoken


def test_utf8_bytes_of_the_result_are_han_and_chinese_punctuation_only() -> None:
    spoken = normalise_zh("温度38.5°C/湿度85%，时间08:30").encode("utf-8")
    assert spoken.decode("utf-8") == "温度三十八点五度，湿度百分之八十五，时间早上八点三十分"
    assert all(b >= 0x80 for b in spoken), "no ASCII byte (digit, symbol, space) is left for the synthesiser"
