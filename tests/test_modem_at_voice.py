"""The voice-call side of the AT dialogue: parsers against lines as the EC25 / SIM7600 manuals and TS 27.007
print them (+CLCC, DTMF reports, call-ending codes, the IMS setting, +CIREG, ATD), and the AT client's
routing of a call's end while another command is running, against the modem model on a real pty."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import serial

from drivers.fakes.modem import FakeModem
from drivers.fakes.modem_calls import Callee
from drivers.modem.at import (
    CallLine,
    call_ended,
    dial_command,
    final_result,
    is_unsolicited,
    parse_cireg,
    parse_clcc,
    parse_dtmf,
    parse_qcfg_ims,
)
from drivers.modem.client import AtError, AtModem


@pytest.mark.parametrize(
    ("line", "call"),
    [
        ('+CLCC: 1,0,2,0,0,"+8613800138000",145', CallLine(1, True, "dialing", True, "+8613800138000")),
        ('+CLCC: 1,0,3,0,0,"13800138000",129', CallLine(1, True, "alerting", True, "13800138000")),
        ('+CLCC: 1,0,0,0,0,"13800138000",129,""', CallLine(1, True, "active", True, "13800138000")),
        ('+CLCC: 2,1,4,0,0,"+8613900139000",145', CallLine(2, False, "incoming", True, "+8613900139000")),
        ("+CLCC: 1,1,5,0,0", CallLine(1, False, "waiting", True, "")),
        ('+CLCC: 3,0,0,1,0,"10086",129', CallLine(3, True, "active", False, "10086")),  # a data call
    ],
)
def test_clcc(line: str, call: CallLine) -> None:
    assert parse_clcc(line) == call


@pytest.mark.parametrize("line", ["+CLCC: 1,0,9,0,0", "+CLCC: 1,0", "+CLCC: a,0,0,0,0"])
def test_clcc_malformed(line: str) -> None:
    with pytest.raises(ValueError):
        parse_clcc(line)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("+QTONEDET: 49", "1"),  # Quectel: the key's ASCII code
        ("+QTONEDET: 48", "0"),
        ("+QTONEDET: 35", "#"),
        ("+QTONEDET: 42", "*"),
        ("+QTONEDET: 65", "A"),
        ("+RXDTMF: 1", "1"),  # SIMCom after AT+DDET=1
        ("+RXDTMF: #", "#"),
        ("+DTMF: 9", "9"),  # older SIMCom firmware
        ("+CSQ: 20,99", None),
        ("RING", None),
    ],
)
def test_dtmf(line: str, key: str | None) -> None:
    assert parse_dtmf(line) == key


@pytest.mark.parametrize("line", ["+QTONEDET: 120", "+QTONEDET: x", "+RXDTMF: z", "+RXDTMF: "])
def test_dtmf_malformed(line: str) -> None:
    with pytest.raises(ValueError):
        parse_dtmf(line)


@pytest.mark.parametrize(
    ("line", "ended", "unsolicited"),
    [
        ("NO CARRIER", "no_carrier", True),
        ("BUSY", "busy", True),
        ("NO ANSWER", "no_answer", True),
        ("VOICE CALL: END: 0012", None, True),
        ("VOICE CALL: BEGIN", None, True),
        ("+QTONEDET: 49", None, True),
        ("+RXDTMF: 1", None, True),
        ("OK", None, False),
    ],
)
def test_call_progress_lines(line: str, ended: str | None, unsolicited: bool) -> None:
    assert call_ended(line) == ended
    assert is_unsolicited(line) is unsolicited
    if ended is not None:
        assert final_result(line) is not None  # also ATD's own answer, on a module with AT+COLP=1


@pytest.mark.parametrize(
    ("line", "setting", "volte"),
    [
        ('+QCFG: "ims",0,1', "auto", True),  # the carrier profile (MBN) decides, and VoLTE is up
        ('+QCFG: "ims",0,0', "auto", False),
        ('+QCFG: "ims",1,1', "on", True),
        ('+QCFG: "ims",2,0', "off", False),
        ('+QCFG: "ims",1', "on", None),  # firmware that gives the setting only
        ('+QCFG: "IMS",2', "off", None),
    ],
)
def test_qcfg_ims(line: str, setting: str, volte: bool | None) -> None:
    assert parse_qcfg_ims(line) == (setting, volte)


@pytest.mark.parametrize("line", ['+QCFG: "ims",3,1', '+QCFG: "nwscanmode",0', '+QCFG: "ims"'])
def test_qcfg_ims_malformed(line: str) -> None:
    with pytest.raises(ValueError):
        parse_qcfg_ims(line)


@pytest.mark.parametrize(("line", "registered"), [("+CIREG: 0,1", True), ("+CIREG: 2,0", False),
                                                  ("+CIREG: 1,1,1", True)])
def test_cireg(line: str, registered: bool) -> None:
    assert parse_cireg(line) is registered


@pytest.mark.parametrize(
    ("number", "command"),
    [("+8613800138000", "ATD+8613800138000;"), ("tel:+8613800138000", "ATD+8613800138000;"),
     (" 13800138000 ", "ATD13800138000;"), ("120", "ATD120;")],
)
def test_dial_command(number: str, command: str) -> None:
    assert dial_command(number) == command


@pytest.mark.parametrize("number", ["sip:8001@pbx", "138;H", "", "12"])
def test_dial_command_refuses_what_is_not_a_number(number: str) -> None:
    with pytest.raises(ValueError):
        dial_command(number)


# --- the client and the modem model ---------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem(reset_s=0.2) as modem:
        yield modem


async def _session(fake: FakeModem, urcs: list[str]) -> AtModem:
    modem = AtModem(serial.Serial(fake.path, timeout=0.5), urcs.append)
    modem.start()
    for command in ("ATE0", "AT+CMEE=1"):
        await modem.command(command)
    return modem


def test_busy_while_another_command_runs_is_the_calls_news_not_that_commands_result(fake: FakeModem) -> None:
    fake.state.voice.callees["10086"] = Callee(busy=True)
    urcs: list[str] = []

    async def go() -> None:
        modem = await _session(fake, urcs)
        try:
            assert await modem.command("ATD10086;") == []  # OK at once; the call goes on by itself
            for _ in range(100):  # AT+CSQ over and over: BUSY lands while some of them are pending
                assert (await modem.command("AT+CSQ"))[0].startswith("+CSQ:")
                if "BUSY" in urcs:
                    break
                await asyncio.sleep(0.02)
        finally:
            modem.close()

    asyncio.run(asyncio.wait_for(go(), 10))
    assert "BUSY" in urcs
    assert fake.state.voice.history[-1]["ended"] == "busy"


@pytest.mark.parametrize(("vendor", "enable", "report"), [("quectel", "AT+QTONEDET=1", "+QTONEDET: 49"),
                                                          ("simcom", "AT+DDET=1", "+RXDTMF: 1")])
def test_keys_are_reported_once_detection_is_on(fake: FakeModem, vendor: str, enable: str, report: str) -> None:
    fake.state.voice.vendor = vendor
    fake.state.voice.callees["10086"] = Callee(answer_after_s=0.4)
    urcs: list[str] = []

    async def go() -> list[str]:
        modem = await _session(fake, urcs)
        try:
            await modem.command("ATD10086;")
            while (fake.calls.current() or {}).get("state") != "active":
                await asyncio.sleep(0.05)
            states = [parse_clcc(line).state for line in await modem.command("AT+CLCC")]
            await asyncio.to_thread(fake.calls.press, "1")  # detection off: the module keeps it to itself
            await modem.command(enable)
            await asyncio.to_thread(fake.calls.press, "1")
            while report not in urcs:
                await asyncio.sleep(0.02)
            await modem.command("AT+CHUP")
            assert await modem.command("AT+CLCC") == []
            return states
        finally:
            modem.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) == ["active"]
    assert urcs.count(report) == 1
    assert ("VOICE CALL: BEGIN" in urcs) is (vendor == "simcom")


def test_lte_only_with_ims_off_refuses_atd_at_once(fake: FakeModem) -> None:
    fake.state.voice.cs_voice = False
    urcs: list[str] = []

    async def go() -> tuple[str, str]:
        modem = await _session(fake, urcs)
        try:
            await modem.command('AT+QCFG="ims",2')
            ims = (await modem.command('AT+QCFG="ims"'))[0]
            with pytest.raises(AtError) as refused:
                await modem.command("ATD10086;")
            return ims, refused.value.final.text
        finally:
            modem.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) == ('+QCFG: "ims",2,0', "ERROR")


def test_an_incoming_call_rings_with_the_callers_number_and_ata_takes_it(fake: FakeModem) -> None:
    urcs: list[str] = []

    async def go() -> str:
        modem = await _session(fake, urcs)
        try:
            await asyncio.to_thread(fake.ring, "+8613800138000")
            while not any(u.startswith("+CLIP:") for u in urcs):
                await asyncio.sleep(0.02)
            await modem.command("ATA")
            return parse_clcc((await modem.command("AT+CLCC"))[0]).state
        finally:
            modem.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) == "active"
    assert urcs[:2] == ["RING", '+CLIP: "+8613800138000",145,"",0,"",0']


def test_ata_with_nothing_ringing(fake: FakeModem) -> None:
    async def go() -> str:
        modem = await _session(fake, [])
        try:
            with pytest.raises(AtError) as refused:
                await modem.command("ATA")
            return refused.value.final.text
        finally:
            modem.close()

    assert asyncio.run(asyncio.wait_for(go(), 10)) == "NO CARRIER"
