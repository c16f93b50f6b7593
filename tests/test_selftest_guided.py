"""Guided self-test steps in a running hub: a test press of the call button being checked passes the
step and sends no call; other buttons still call; the smoke test key's prompt warns of the real test
fire alarm; and the self-test is served over the hub's one control socket (`selftest.*` commands)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from support import wait_until, write_config

from hub.config.loader import load
from hub.core.context import Hardware
from hub.core.control import ControlError, ControlServer, request
from hub.selftest.guided import SMOKE_LIVE, SMOKE_STOPPED, guided_steps
from hub.selftest.model import Env

pytestmark = pytest.mark.timeout(180)


def _wait_until_waiting(hub: Any, pin: int, timeout: float = 15) -> None:
    wait_until(lambda: pin in (hub.status().get("selftest_waiting") or []), timeout,
               lambda: f"the guided step to wait on GPIO{pin}: {hub.log_tail()}")


def test_guided_button_step_passes_and_sends_no_call(hub_env: Any) -> None:
    hub, sub = hub_env.hub, hub_env.sub
    steps = hub.control({"cmd": "selftest.steps", "only": "buttons"})["steps"]
    index = next(i for i, s in enumerate(steps) if s["pin"] == 17)
    assert "不会发出呼叫" in steps[index]["prompt"] and "no call" in steps[index]["prompt"]
    # told before pressing that another button is a real call (a wrong button used to call silently)
    prompt = steps[index]["prompt"]
    assert "别的按钮会真的呼叫社区" in prompt and "any other button makes a real call" in prompt

    answer: dict[str, Any] = {}

    def guided() -> None:
        answer.update(hub.control({"cmd": "selftest.guided", "index": index, "only": "buttons",
                                   "timeout": 20}, timeout=60))

    watcher = threading.Thread(target=guided)
    watcher.start()
    try:
        _wait_until_waiting(hub, 17)
        other = hub.sim("press", "--button", "27")  # not the button under test: a real call
        tested = hub.sim("press", "--button", "17")
    finally:
        watcher.join(40)
    assert not watcher.is_alive()
    assert other["outcome"] == "raised"
    assert tested["outcome"] == "claimed", tested
    assert answer["result"] == "pass", answer
    assert answer["component"] == "button:17" and "no call sent" in answer["value"]
    assert 17 not in (hub.status().get("selftest_waiting") or [])

    # Once the step is over the same button calls again. Its call.raised comes after anything the test
    # press could have sent (one outbox, sent in order), so waiting for it bounds the check.
    after = hub.sim("press", "--button", "17")
    assert after["outcome"] == "raised"
    assert sub.wait_event("call.raised", 15, button=17), hub.log_tail()
    raised = {e["id"]: e["data"]["button"] for e in sub.events("call.raised")}
    assert raised == {other["event_id"]: 27, after["event_id"]: 17}


def test_guided_button_step_fails_without_a_press_and_ends_when_the_technician_leaves(hub_env: Any) -> None:
    hub = hub_env.hub
    steps = hub.control({"cmd": "selftest.steps", "only": "buttons"})["steps"]
    result = hub.control({"cmd": "selftest.guided", "index": 0, "only": "buttons", "timeout": 1})
    assert result["result"] == "fail" and f"GPIO{steps[0]['pin']}" in result["value"]
    assert result["remedy"]
    with pytest.raises(ControlError, match="no watched guided step"):
        hub.control({"cmd": "selftest.guided", "index": 99, "timeout": 1})

    # `hub selftest` interrupted mid-step (Ctrl-C): the claim must go with it, not last the step's
    # 300 s, or a resident's real press on that button would be swallowed.
    with pytest.raises((TimeoutError, OSError)):
        hub.control({"cmd": "selftest.guided", "index": 0, "only": "buttons", "timeout": 300}, timeout=1.5)
    wait_until(lambda: 17 not in (hub.status().get("selftest_waiting") or []), 10, "GPIO17 released")
    assert hub.sim("press", "--button", "17")["outcome"] == "raised"


def test_smoke_step_warns_of_the_test_fire_alarm(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "hub.toml", 1883, extra='[smoke]\nkind = "relay"\nrelay_pin = 25\n')
    env = Env(load(cfg), Hardware(None, lambda bus: None, lambda *a, **k: None))
    live = next(s for s in guided_steps(env, "smoke") if s.component == "smoke")
    stopped = next(s for s in guided_steps(env, "smoke", hub_running=False) if s.component == "smoke")
    assert live.prompt == SMOKE_LIVE and "alarm.fire" in live.prompt and "平台值班员" in live.prompt
    assert live.prompt.index("alarm.fire") < live.prompt.index("测试键")  # told before asked to press
    assert stopped.prompt == SMOKE_STOPPED and live.pin == stopped.pin == 25


def test_control_commands_registered_before_and_after_the_socket_listens(tmp_path: Path) -> None:
    from hub.core.app import Hub

    async def echo(req: dict[str, Any]) -> dict[str, Any]:
        return {"echo": req.get("x")}

    async def scenario() -> None:
        hub = Hub(load(write_config(tmp_path / "hub.toml", 1883)),
                  Hardware(None, lambda bus: None, lambda *a, **k: None))
        hub.add_control_command("t.before", echo)
        with pytest.raises(ValueError, match=r"t\.before"):
            hub.add_control_command("t.before", echo)
        with pytest.raises(ValueError, match="status"):
            hub.add_control_command("status", echo)
        server = ControlServer(tmp_path / "c.sock", hub._control_handlers)
        await server.start()
        try:
            hub.add_control_command("t.after", echo)
            for name in ("t.before", "t.after"):
                reply = await asyncio.to_thread(request, server.path, {"cmd": name, "x": name}, 5)
                assert reply == {"echo": name}
        finally:
            await server.close()
            await hub.close()

    asyncio.run(scenario())


def test_a_hangup_cancels_only_the_commands_that_ask_for_it(tmp_path: Path) -> None:
    import socket

    async def scenario() -> None:
        cancelled = asyncio.Event()

        async def waits(req: dict[str, Any]) -> dict[str, Any]:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return {}

        server = ControlServer(tmp_path / "c.sock", {"wait": waits, "quick": _quick}, {"wait"})
        await server.start()
        try:
            def hang_up() -> None:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(str(server.path))
                    sock.sendall(b'{"cmd": "wait"}\n')

            await asyncio.to_thread(hang_up)
            await asyncio.wait_for(cancelled.wait(), 5)
            # A one-reply command is unaffected.
            assert await asyncio.to_thread(request, server.path, {"cmd": "quick"}, 5) == {"quick": True}
        finally:
            await server.close()

    asyncio.run(scenario())


async def _quick(req: dict[str, Any]) -> dict[str, Any]:
    return {"quick": True}


def test_ctrl_c_in_a_guided_step_says_what_was_done_and_that_presses_now_call(hub_env: Any) -> None:
    """The technician's Ctrl-C while "请按呼叫按钮" waits left a bare prompt: no table of what passed, and
    no word that the next press on that button is a real call, not a test."""
    import os
    import sys

    from tests.terminal import Terminal

    hub = hub_env.hub
    term = Terminal([sys.executable, "-m", "hub", "selftest", "--only", "buttons", "--config", str(hub.config)])
    term.expect(r"\[1/\d+\] 请按呼叫按钮 \(GPIO17")
    _wait_until_waiting(hub, 17)
    hub.sim("press", "--button", "17")
    term.expect(r"通过 PASS  GPIO17: pressed")
    term.expect(r"\[2/\d+\] 请按呼叫按钮 \(GPIO27")
    _wait_until_waiting(hub, 27)
    stopped = r"已中断 interrupted at step 2/\d+: .*a call button pressed now makes a real call"
    os.write(term.fd, b"\x03")
    for _ in range(2):  # a SIGINT just before the blocking read is seen at the next one: press again
        try:
            term.expect(stopped, timeout=10)
            break
        except AssertionError:
            os.write(term.fd, b"\x03")
    else:
        term.expect(stopped)
    term.expect(r"button:17 +emergency button press +通过 PASS")
    term.expect(r"button:27 +health button press +跳过 SKIP +interrupted \(Ctrl-C\): not asked")
    term.expect(r"自检未完成 self-test NOT finished \(Ctrl-C\)")
    assert term.wait() == 130
    assert "Traceback" not in term.buffer and "全部通过" not in term.buffer, term.buffer
    wait_until(lambda: 27 not in (hub.status().get("selftest_waiting") or []), 10, "GPIO27 released")
    assert hub.sim("press", "--button", "27")["outcome"] == "raised"  # what the message said


def test_a_technician_on_a_phone_s_ssh_app_reads_one_short_block_per_check(hub_env: Any) -> None:
    """A 50-column terminal (a phone's SSH app): the table would wrap every line into a jumble; each check is
    a block of its own that fits, and the program learns the width from the terminal itself."""
    import sys

    from hub.cli.selftest import _width
    from tests.terminal import Terminal

    term = Terminal([sys.executable, "-m", "hub", "selftest", "--non-interactive", "--only", "buttons",
                     "--config", str(hub_env.hub.config)], columns=50)
    term.expect(r"通过 PASS  button:17 · emergency button input\r\n +GPIO17: released")
    term.expect(r"跳过 SKIP  button:27 · health button press\r\n +non-interactive: not asked")
    assert term.wait() == 0
    lines = term.buffer.replace("\r\n", "\n").splitlines()
    assert "部件 component" not in term.buffer  # no table header: blocks
    assert all(_width(line) <= 50 for line in lines if "remedy" not in line and "已跳过" not in line), lines
