"""The cellular component against the EC25-class modem model on a real pty, when the module is not polite:
`PB DONE` where the answer to AT+CPIN? should be, and a modem task that dies or gets stuck. The task never
ends on a line it cannot read, a dead or stuck task is a fault in `hub status` and the self-test, and it is
started again: alarms are still texted and replies still read afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from fakes import FakeHub

from drivers.fakes.modem import FakeModem
from hub.cellular.component import Cellular
from hub.config.loader import Config, validate
from hub.core.context import Hardware
from hub.selftest.links import check_modem
from hub.selftest.model import Env

DUTY = "+8613800138000"


@pytest.fixture
def fake() -> Iterator[FakeModem]:
    with FakeModem(reset_s=0.3) as modem:
        yield modem


def config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    raw: dict[str, Any] = {"hub": {"state_dir": str(tmp_path / "state")},
                           "modem": {"port": "/dev/ttyUSB2", "sms_numbers": [DUTY], "sms_after_s": 5}}
    for name, table in sections.items():
        raw[name] = {**raw.get(name, {}), **table}
    return Config(tmp_path / "hub.toml", validate(raw))


def run(cfg: Config, fake: FakeModem, scenario: Callable[[FakeHub, Cellular], Awaitable[Any]],
        timeout: float = 60) -> FakeHub:
    async def go() -> FakeHub:
        hub = FakeHub(cfg)
        hub.hardware = Hardware(gpio=None, open_i2c=lambda bus: None,
                                open_serial=lambda port, **kw: serial.Serial(fake.path, **kw), simulated=True)
        cellular = Cellular(cfg)
        cellular.after_s, cellular.poll_s = 0.3, 0.5  # text at once, read the SIM twice a second
        cellular.watch.every_s = 0.1
        await cellular.start(hub)  # type: ignore[arg-type]
        try:
            await until(lambda: (hub.status.get("cellular") or {}).get("modem") == "ok")
            await scenario(hub, cellular)
        finally:
            await cellular.close()
            hub.alarms.stop()
            await hub.cancel_tasks()
        return hub

    return asyncio.run(asyncio.wait_for(go(), timeout))


async def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    end = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.02)
    return value


async def alarm(hub: FakeHub, pin: int = 17) -> str:
    event = await hub.alarms.open("call.raised", {"kind": "emergency", "pin": pin, "button": pin}, key=f"call{pin}",
                                  facts={"kind": "emergency", "button": pin})
    return event.id


def modem_state(hub: FakeHub) -> str:
    return str((hub.status.get("cellular") or {}).get("modem"))


@pytest.mark.parametrize("stray", ["PB DONE", "SMS DONE", "+QUSIM: 1", "Call Ready", "#&!\x7fgarbled"])
def test_a_stray_line_during_at_cpin_never_ends_the_modem_task(tmp_path: Path, fake: FakeModem, stray: str) -> None:
    fake.stray_on["AT+CPIN?"] = (0, f"\r\n{stray}\r\n".encode())  # every time, before the answer
    fake.stray_on["AT+CSQ"] = (1, b"\r\n+CSQ\r\n")  # and a garbled second +CSQ line after the real one

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        polled = len(fake.state.sent)
        assert (hub.status.get("cellular") or {}).get("sim") == "READY"
        call_id = await alarm(hub)
        await until(lambda: len(fake.state.sent) > polled)  # still texting
        fake.deliver_sms(DUTY, "1")
        await until(lambda: hub.raised("call.acknowledged"))  # still reading replies
        assert hub.raised("call.acknowledged")[0].data["call_id"] == call_id
        assert modem_state(hub) == "ok" and cellular.watch.restarts == 0

    run(config(tmp_path), fake, scenario)


def test_a_dead_modem_task_is_a_fault_in_status_and_selftest_and_is_restarted(tmp_path: Path,
                                                                               fake: FakeModem) -> None:
    cfg = config(tmp_path)
    seen: dict[str, Any] = {}

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        async def status() -> dict[str, Any]:
            return dict(hub.status)

        env = Env(cfg, hub.hardware, status=status)
        (task,) = [t for t in hub.tasks if t.get_name() == "cellular.modem"]
        task.cancel()  # dies as a bug would end it: nobody closed the component
        await until(lambda: modem_state(hub) == "fault")
        seen["status"] = dict(hub.status["cellular"])
        seen["selftest"] = await check_modem(env, owned=True)
        await until(lambda: modem_state(hub) == "ok")  # started again, set up again
        seen["after"] = await check_modem(env, owned=True)
        call_id = await alarm(hub)
        await until(lambda: fake.state.sent)
        fake.deliver_sms(DUTY, "1")
        await until(lambda: hub.raised("call.acknowledged"))
        assert hub.raised("call.acknowledged")[0].data["call_id"] == call_id

    run(cfg, fake, scenario)
    assert "cancelled" in seen["status"]["error"] and seen["status"]["task_restarts"] == 1
    (row,) = seen["selftest"]
    assert (row.check, row.result) == ("modem task", "fail") and "restarted" in row.remedy
    assert all(r.result == "pass" for r in seen["after"]), seen["after"]


def test_a_stuck_modem_task_is_a_fault_and_is_restarted(tmp_path: Path, fake: FakeModem) -> None:
    stuck = asyncio.Event()

    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        cellular.watch.stall_s = 1.5

        async def take(by: str, message: str | None) -> bool:
            stuck.set()
            await asyncio.Event().wait()  # never returns: the modem task hangs in here
            return False

        cellular.on_sms(lambda sender, code: [(0.0, "no-such-alarm", take)])
        fake.deliver_sms(DUTY, "1")
        await until(lambda: stuck.is_set())
        await until(lambda: modem_state(hub) == "fault")
        assert "stopped going round" in hub.status["cellular"]["error"]
        await until(lambda: modem_state(hub) == "ok")
        assert cellular.watch.restarts == 1

    run(config(tmp_path), fake, scenario)


def test_the_outage_sms_carries_the_resident_reference_of_the_escalation_sms(tmp_path: Path,
                                                                              fake: FakeModem) -> None:
    async def scenario(hub: FakeHub, cellular: Cellular) -> None:
        await alarm(hub)
        await until(lambda: fake.state.sent)

    run(config(tmp_path, resident={"reference": "R-0042"}), fake, scenario)
    ((to, text),) = fake.state.sent
    assert to == DUTY and text.startswith("【一键呼】紧急呼叫 R-0042 "), text
