"""The AT client against a modem model on a real pseudo-terminal, opened with pyserial as on a Pi."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
import serial

from drivers.fakes.modem import FakeModem, ModemState
from drivers.modem.at import parse_cmti, parse_csq
from drivers.modem.client import AtError, AtModem, AtTimeout


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem(reset_s=0.2) as modem:
        yield modem


async def _client(fake: FakeModem, urcs: list[str] | None = None) -> AtModem:
    port = serial.Serial(fake.path, baudrate=115200, timeout=0.2)
    modem = AtModem(port, (urcs.append if urcs is not None else lambda line: None))
    modem.start()
    await modem.command("ATE0")
    await modem.command("AT+CMEE=1")
    return modem


def _run(fake: FakeModem, scenario: Callable[[AtModem], Awaitable[None]]) -> None:
    async def main() -> None:
        modem = await _client(fake)
        try:
            await scenario(modem)
        finally:
            modem.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_query_and_info_lines(fake: FakeModem) -> None:
    async def scenario(client: AtModem) -> None:
        assert await client.command("AT") == []
        (line,) = await client.command("AT+CSQ")
        assert parse_csq(line) == -73
        assert await client.command("AT+CREG?") == ["+CREG: 0,1"]  # a reply, not taken for an unsolicited +CREG

    _run(fake, scenario)


def test_errors_name_the_code(fake: FakeModem) -> None:
    async def scenario(client: AtModem) -> None:
        fake.state.sim = ""
        with pytest.raises(AtError) as info:
            await client.command("AT+CPIN?")
        assert info.value.final.code == 10
        with pytest.raises(AtError):
            await client.command("AT+NOSUCH")

    _run(fake, scenario)


def test_sms_in_ucs2_reaches_the_network(fake: FakeModem) -> None:
    async def scenario(client: AtModem) -> None:
        await client.command("AT+CMGF=1")
        await client.command('AT+CSCS="UCS2"')
        reference = await client.send_sms("+8613800138000", "紧急呼叫 R-0042 回1确认")
        assert reference == 1
        assert fake.state.sent == [("+8613800138000", "紧急呼叫 R-0042 回1确认")]

    _run(fake, scenario)


def test_sms_refused_by_the_network(fake: FakeModem) -> None:
    async def scenario(client: AtModem) -> None:
        await client.command("AT+CMGF=1")
        fake.state.sms_error = 500
        with pytest.raises(AtError) as info:
            await client.send_sms("13800138000", "x")
        assert info.value.final.code == 500 and fake.state.sent == []
        fake.state.sms_error = None
        fake.set_registration(2)  # searching: no service
        with pytest.raises(AtError) as info:
            await client.send_sms("13800138000", "x")
        assert info.value.final.code == 331
        assert await client.command("AT") == []  # the port is usable afterwards

    _run(fake, scenario)


def test_incoming_sms_is_announced_and_read(fake: FakeModem) -> None:
    async def scenario() -> None:
        urcs: list[str] = []
        modem = await _client(fake, urcs)
        try:
            await modem.command("AT+CMGF=1")
            await modem.command('AT+CSCS="UCS2"')
            await modem.command("AT+CNMI=2,1,0,0,0")
            index = fake.deliver_sms("+8613800138000", "1")
            for _ in range(100):
                if urcs:
                    break
                await asyncio.sleep(0.01)
            assert parse_cmti(urcs[0]) == ("SM", index)
            lines = await modem.command(f"AT+CMGR={index}")
            assert lines[0].startswith('+CMGR: "REC UNREAD"') and lines[1] == "0031"
            await modem.command(f"AT+CMGD={index}")
            assert fake.state.inbox == {}
        finally:
            modem.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_unsolicited_lines_during_a_command_are_not_lost(fake: FakeModem) -> None:
    async def scenario() -> None:
        urcs: list[str] = []
        modem = await _client(fake, urcs)
        try:
            await modem.command("AT+CNMI=2,1,0,0,0")
            fake.ring("13800138000")
            fake.deliver_sms("13800138000", "hello")
            assert await modem.command("AT") == []
            for _ in range(100):
                if len(urcs) >= 3:
                    break
                await asyncio.sleep(0.01)
            assert urcs[0] == "RING" and urcs[1].startswith("+CLIP:") and urcs[2].startswith("+CMTI:")
        finally:
            modem.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_reset_mid_command_times_out_then_rdy(fake: FakeModem) -> None:
    async def scenario() -> None:
        urcs: list[str] = []
        modem = await _client(fake, urcs)
        try:
            fake.state.reset_on = "AT+CSQ"
            with pytest.raises(AtTimeout):
                await modem.command("AT+CSQ", timeout=0.5)
            for _ in range(100):
                if "RDY" in urcs:
                    break
                await asyncio.sleep(0.01)
            assert "RDY" in urcs
            assert await modem.command("AT") == []  # echo back on after the reset: the echo is dropped
        finally:
            modem.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_close_is_idempotent(fake: FakeModem) -> None:
    async def scenario() -> None:
        modem = await _client(fake)
        modem.close()
        modem.close()
        with pytest.raises(AtTimeout):
            await modem.command("AT")

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_fake_modem_state_defaults() -> None:
    assert ModemState().registration == 1
