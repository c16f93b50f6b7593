"""The AT dialogue's pure parsers, against lines as EC25/SIM7600 modules print them (Quectel EC25 AT
Commands Manual, SIMCom SIM7600 AT Command Manual, 3GPP TS 27.007/27.005)."""

from __future__ import annotations

import pytest

from drivers.modem.at import (
    SMS_MAX_CHARS,
    decode_ucs2,
    encode_ucs2,
    final_result,
    fit_sms,
    is_unsolicited,
    parse_clip,
    parse_cmgr,
    parse_cmgs,
    parse_cmti,
    parse_cpin,
    parse_csq,
    parse_registration,
)


@pytest.mark.parametrize(
    ("line", "ok", "code"),
    [
        ("OK", True, None),
        ("ERROR", False, None),
        ("+CME ERROR: 10", False, 10),  # SIM not inserted, AT+CMEE=1
        ("+CME ERROR: SIM not inserted", False, "SIM not inserted"),  # AT+CMEE=2
        ("+CMS ERROR: 500", False, 500),
        ("NO CARRIER", False, None),
        ("BUSY", False, None),
        ("  OK\r", True, None),
    ],
)
def test_final_results(line: str, ok: bool, code: object) -> None:
    final = final_result(line)
    assert final is not None and final.ok is ok and final.code == code


@pytest.mark.parametrize("line", ["+CSQ: 20,99", "+CMGS: 12", "> ", "EC25", "+CMGR: \"REC UNREAD\""])
def test_not_final(line: str) -> None:
    assert final_result(line) is None


@pytest.mark.parametrize(
    ("line", "urc"),
    [('+CMTI: "SM",3', True), ("RING", True), ('+CLIP: "13800138000",129', True), ("RDY", True),
     ("+CREG: 5", True), ("+CSQ: 20,99", False), ("OK", False), ("+CMGS: 4", False)],
)
def test_unsolicited(line: str, urc: bool) -> None:
    assert is_unsolicited(line) is urc


@pytest.mark.parametrize(("line", "dbm"), [("+CSQ: 0,99", -113), ("+CSQ: 31,0", -51), ("+CSQ: 20,99", -73),
                                            ("+CSQ: 99,99", None)])
def test_csq(line: str, dbm: int | None) -> None:
    assert parse_csq(line) == dbm


@pytest.mark.parametrize("line", ["+CSQ: 40,99", "+CREG: 0,1", "+CSQ: x,1"])
def test_csq_refuses(line: str) -> None:
    with pytest.raises(ValueError):
        parse_csq(line)


@pytest.mark.parametrize(
    ("line", "reply", "word"),
    [
        ("+CREG: 0,1", True, "home"),
        ("+CREG: 2,5,\"1A2B\",\"01C2D3E4\",7", True, "roaming"),
        ("+CEREG: 0,2", True, "searching"),
        ("+CREG: 3", False, "denied"),
        ("+CREG: 1,\"1A2B\",\"01C2D3E4\",7", False, "home"),  # unsolicited with location (AT+CREG=2)
        ("+CGREG: 0,0", True, "not_registered"),
        ("+CREG: 0,9", True, "unknown"),
    ],
)
def test_registration(line: str, reply: bool, word: str) -> None:
    assert parse_registration(line, reply) == word


def test_cpin_cmti_clip_cmgs() -> None:
    assert parse_cpin("+CPIN: READY") == "READY"
    assert parse_cpin("+CPIN: SIM PIN") == "SIM PIN"
    assert parse_cmti('+CMTI: "SM",7') == ("SM", 7)
    assert parse_cmti('+CMTI: "ME",12') == ("ME", 12)
    assert parse_clip('+CLIP: "+8613800138000",145,"",0,"",0') == "+8613800138000"
    assert parse_cmgs("+CMGS: 42") == 42
    with pytest.raises(ValueError):
        parse_cmti("+CMTI: SM")


@pytest.mark.parametrize(
    ("text", "hexed"),
    [("1", "0031"), ("+8613800138000", "002B0038003600310033003800300030003100330038003000300030"),
     ("确认", "786E8BA4"), ("😀", "D83DDE00")],
)
def test_ucs2_round_trip(text: str, hexed: str) -> None:
    assert encode_ucs2(text) == hexed
    assert decode_ucs2(hexed) == text


@pytest.mark.parametrize("bad", ["", "123", "GSM text", "00G1"])
def test_ucs2_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_ucs2(bad)


def test_cmgr_ucs2_and_plain() -> None:
    sms = parse_cmgr(['+CMGR: "REC UNREAD","002B0038003600310033003800300030003100330038003000300030",'
                      '"","24/11/30,10:02:03+32"', "0031"])
    assert (sms.sender, sms.body, sms.status, sms.stamp) == ("+8613800138000", "1", "REC UNREAD",
                                                              "24/11/30,10:02:03+32")
    # Some modules leave the number in plain digits in UCS2 mode: taken as it is.
    sms = parse_cmgr(['+CMGR: "REC READ","13800138000",,"24/11/30,10:02:03+32"', "786E8BA4"])
    assert (sms.sender, sms.body) == ("13800138000", "确认")
    sms = parse_cmgr(['+CMGR: "REC READ","13800138000",,"24/11/30,10:02:03+32"', "1 ok"], ucs2=False)
    assert sms.body == "1 ok"
    with pytest.raises(ValueError):
        parse_cmgr(["OK"])


def test_fit_sms() -> None:
    assert fit_sms("短") == "短"
    long = "紧" * 100
    assert len(fit_sms(long)) == SMS_MAX_CHARS and fit_sms(long).endswith("…")
