"""The AT client against what real modules send besides answers, on the modem model's real pty: the lines
an EC25/SIM7600 prints by itself (PB DONE, SMS DONE, +QUSIM: 1, ...) in the middle of a command, lines
nobody expects, a 32 MB line without a line end, and random bytes at any point (hypothesis). The client
never hands such lines to the waiting command, never grows its buffer, and answers commands afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.fakes.modem import FakeModem
from drivers.modem.at import MAX_LINE, parse_cpin, parse_csq
from drivers.modem.client import UNEXPECTED_PER_MIN, AtError, AtModem, AtTimeout

DUTY = "+8613800138000"

# What modules print on their own after a start, a SIM change or a network event (Quectel EC25 and SIMCom
# SIM7600 AT manuals), as they come on the wire.
MODULE_LINES = ["PB DONE", "SMS DONE", "+QUSIM: 1", "RDY", "+CPIN: READY", '+QIND: "SMS DONE"', '+QIND: PB DONE',
                "Call Ready", "SMS Ready", "+CFUN: 1", '+QIND: "csq",20,99', "+CTZV: 26/12/06,16:30:00,+32",
                "*PSUTTZ: 26/12/06,08:30:00\",\"+32\",0", "+CGEV: ME PDN ACT 1", "+QSTK: 1", "+CUSD: 0"]


async def _client(fake: FakeModem, urcs: list[str]) -> AtModem:
    port = serial.Serial(fake.path, baudrate=115200, timeout=0.2)
    modem = AtModem(port, urcs.append)
    modem.start()
    await modem.command("ATE0")
    await modem.command("AT+CMEE=1")
    return modem


def _run(scenario: Callable[[FakeModem, AtModem, list[str]], Awaitable[None]], timeout: float = 30) -> None:
    async def main() -> None:
        with FakeModem(reset_s=0.2) as fake:
            urcs: list[str] = []
            modem = await _client(fake, urcs)
            try:
                await scenario(fake, modem, urcs)
            finally:
                modem.close()

    asyncio.run(asyncio.wait_for(main(), timeout))


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.01)


async def _synced(fake: FakeModem, urcs: list[str], mark: int) -> None:
    """Everything injected so far has been read and routed: a marker line came through after it."""
    line = f'+QIND: "sync",{mark}'
    fake.inject(f"\r\n{line}\r\n".encode())
    await _until(lambda: line in urcs)


async def _healthy(modem: AtModem) -> None:
    """The client still answers, exactly."""
    assert parse_csq((await modem.command("AT+CSQ", timeout=2))[0]) == -73
    assert parse_cpin((await modem.command("AT+CPIN?", timeout=2))[0]) == "READY"
    assert await modem.command("AT+CREG?", timeout=2) == ["+CREG: 0,1"]


@pytest.mark.parametrize("stray", MODULE_LINES)
@pytest.mark.parametrize("where", [0, 1, 2])  # before the answer, after +CPIN:, after OK
def test_a_line_the_module_prints_by_itself_is_not_the_answer(stray: str, where: int) -> None:
    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        fake.stray.append((where, f"\r\n{stray}\r\n".encode()))
        if stray.startswith("+CPIN:"):  # the same prefix as the answer: both are the answer, the first counts
            assert (await modem.command("AT+CPIN?"))[0] == "+CPIN: READY"
        else:
            assert await modem.command("AT+CPIN?") == ["+CPIN: READY"]
            await _until(lambda: stray in urcs)
        await _healthy(modem)

    _run(scenario)


def test_a_line_nobody_expects_is_logged_not_taken_for_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        fake.stray.append((0, b"\r\n#&!garbled 3\r\n"))
        assert await modem.command("AT+CSQ") == ["+CSQ: 20,99"]
        assert "#&!garbled 3" in urcs  # the component hears it and ignores it

    with caplog.at_level(logging.INFO, logger="drivers.modem.client"):
        _run(scenario)
    assert any("'#&!garbled 3'" in r.getMessage() for r in caplog.records), caplog.text


def test_a_babbling_module_does_not_fill_the_log(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        fake.stray.append((0, b"".join(b"\r\nnoise %d\r\n" % i for i in range(200))))
        assert await modem.command("AT+CSQ") == ["+CSQ: 20,99"]
        await _until(lambda: "noise 199" in urcs)

    with caplog.at_level(logging.INFO, logger="drivers.modem.client"):
        _run(scenario)
    assert sum("unexpected line" in r.getMessage() for r in caplog.records) == UNEXPECTED_PER_MIN


def test_the_sms_body_and_the_identity_queries_keep_their_bare_lines() -> None:
    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        assert await modem.command("AT+CGMI") == ["Quectel"]
        await modem.command("AT+CMGF=1")
        index = fake.deliver_sms("+8613800138000", "1")
        fake.stray.append((1, b"\r\nSMS DONE\r\n"))
        lines = await modem.command(f"AT+CMGR={index}")
        assert lines[0].startswith('+CMGR: "REC UNREAD"') and lines[1:] == ["1"]

    _run(scenario)


@pytest.mark.timeout(120)
def test_a_32_mb_line_is_discarded_with_one_log_line_and_memory_stays_flat(caplog: pytest.LogCaptureFixture) -> None:
    figures: dict[str, float] = {}

    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        block = b"\xa5Z" * 32768  # 64 KiB, sent 512 times: 32 MiB and never a line end
        tracemalloc.start()
        try:
            started, cpu = time.monotonic(), time.thread_time()
            writer = threading.Thread(target=lambda: [fake.inject(block) for _ in range(512)])
            writer.start()
            while writer.is_alive():
                await asyncio.sleep(0.05)
            await _synced(fake, urcs, 1)
            figures["seconds"] = time.monotonic() - started
            figures["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        del cpu
        await _healthy(modem)

    with caplog.at_level(logging.INFO, logger="drivers.modem.client"):
        _run(scenario, timeout=100)
    dropped = [r for r in caplog.records if "discarded" in r.getMessage()]
    assert len(dropped) == 1 and "a line of 3355443" in dropped[0].getMessage(), caplog.text  # 32 MiB (+ its CR)
    print(f"32 MiB line: swallowed in {figures['seconds']:.1f} s, traced peak {figures['peak_bytes'] / 1024:.0f} KiB")
    assert figures["peak_bytes"] < 2 * 1024 * 1024, figures  # the 32 MiB never sat in memory


def test_a_long_line_with_its_end_is_discarded_too(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        fake.inject(b"\r\n+CMTI: \"SM\"," + b"9" * (MAX_LINE + 10) + b"\r\n")
        await _synced(fake, urcs, 1)
        assert not any(u.startswith("+CMTI") for u in urcs)
        await _healthy(modem)

    with caplog.at_level(logging.INFO, logger="drivers.modem.client"):
        _run(scenario)
    assert sum("discarded" in r.getMessage() for r in caplog.records) == 1


# --- fuzz: stray module lines at every point of every command, random bytes, very long lines -----------------
COMMANDS: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("AT", lambda lines: lines == []),
    ("AT+CSQ", lambda lines: lines == ["+CSQ: 20,99"]),
    ("AT+CPIN?", lambda lines: lines[:1] == ["+CPIN: READY"]),
    ("AT+CREG?", lambda lines: lines == ["+CREG: 0,1"]),
    ("AT+CEREG?", lambda lines: lines == ["+CEREG: 0,1"]),
    ("AT+CGMI", lambda lines: lines == ["Quectel"]),
    ("AT+CLCC", lambda lines: lines == []),
    ("AT+CMGR=1", lambda lines: lines[0].startswith('+CMGR: "REC') and lines[1:] == ["0031"]),
    ("SMS", lambda lines: lines == ["sent"]),  # AT+CMGS, its "> " prompt, the text, +CMGS: <mr>
]


async def _command(fake: FakeModem, modem: AtModem, command: str) -> list[str]:
    if command != "SMS":
        return await modem.command(command, timeout=1.0)
    before = len(fake.state.sent)
    reference = await modem.send_sms(DUTY, "紧急呼叫 回复1", timeout=1.0)
    return ["sent"] if reference == len(fake.state.sent) == before + 1 else [f"reference {reference}"]
noise = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(MODULE_LINES).map(lambda line: f"\r\n{line}\r\n".encode()),
    st.builds(lambda n, end: b"Q" * n + end, st.integers(MAX_LINE - 5, 3 * MAX_LINE), st.sampled_from([b"", b"\r\n"])),
)
step = st.tuples(st.integers(0, len(COMMANDS) - 1), st.integers(0, 3), noise)


@pytest.mark.timeout(300)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=6), clean=st.booleans())
def test_fuzz_the_reader_answers_commands_afterwards(steps: list[tuple[int, int, bytes]], clean: bool) -> None:
    """`clean`: only the modules' own lines (every answer must be exact); else any noise (a command may fail
    or time out, as with a real line that noisy), and afterwards the client answers exactly again."""
    if clean:
        steps = [(c, at, data) for c, at, data in steps if data.startswith(b"\r\n") and data.strip() in
                 {line.encode() for line in MODULE_LINES}]

    async def scenario(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        for mark, (which, at, data) in enumerate(steps):
            command, good = COMMANDS[which]
            fake.stray.append((at, data))
            try:
                lines = await _command(fake, modem, command)
            except (AtError, AtTimeout):
                assert not clean, (command, data)
            else:
                assert good(lines) or not clean, (command, lines, data)
            fake.stray.clear()
            await _synced(fake, urcs, mark)
        if not clean:  # noise that looked like "ERROR" ended a command early: its real answer may still come
            for _ in range(3):
                with contextlib.suppress(AtError, AtTimeout):
                    if await modem.command("AT+CSQ", timeout=1.0) == ["+CSQ: 20,99"]:
                        break
        await _healthy(modem)

    async def ucs2(fake: FakeModem, modem: AtModem, urcs: list[str]) -> None:
        await modem.command("AT+CMGF=1")
        await modem.command('AT+CSCS="UCS2"')
        assert fake.deliver_sms(DUTY, "1") == 1  # stored at index 1 (AT+CNMI is off: no +CMTI)
        await scenario(fake, modem, urcs)

    _run(ucs2, timeout=60)
