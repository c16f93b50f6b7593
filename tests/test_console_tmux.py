"""`hub console` as an installer sees it, in a tmux pane: the broker is restarted under it, then stalled
(SIGSTOP for more than 30 s, SIGCONT); after each, a new emergency call must still appear on the screen,
with the console saying when the connection was lost and restored. Read with capture-pane, waits with
deadlines only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import Broker, HubProcess, mosquitto_binary, wait_until, write_config

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (apt-get install tmux)"),
              pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")]

STALL_S = 32.0


class Pane:
    """One tmux server of our own (its own socket) running one command in a wide pane."""

    def __init__(self, tmp: Path, command: list[str]) -> None:
        self.socket = f"console-test-{os.getpid()}-{time.monotonic_ns()}"
        self._tmux("new-session", "-d", "-s", "t", "-x", "220", "-y", "50", " ".join(command))
        self._tmux("set-option", "-t", "t", "history-limit", "20000")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True,
                              timeout=20).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-20000")

    def wait(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        def shown() -> str | None:
            text = self.screen()
            return text if predicate(text) else None
        return str(wait_until(shown, timeout, lambda: f"{what} on screen; the pane shows:\n{self.screen()}", 0.2))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Broker, HubProcess, Pane]]:
    broker = Broker(tmp_path).start()
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", broker.port)).start()
    pane = Pane(tmp_path, [sys.executable, "-m", "hub", "console", "--config", str(hub.config)])
    try:
        yield broker, hub, pane
    finally:
        pane.close()
        hub.stop()
        if broker.proc is not None and broker.proc.poll() is None:
            os.kill(broker.proc.pid, signal.SIGCONT)
        broker.stop()


def _call_shown(pane: Pane, call_id: str, timeout: float = 90) -> None:
    pane.wait(lambda s: any(" call.raised " in line and call_id in line for line in s.splitlines()), timeout,
              f"the call {call_id}")


def test_the_console_in_tmux_sees_new_calls_after_a_broker_restart_and_a_stall(world):
    broker, hub, pane = world
    pane.wait(lambda s: " status 在线 online" in s, 30, "the hub's retained status")
    first = hub.sim("press", "--button", "22")["event_id"]  # a button each time: each press a call of its own
    _call_shown(pane, first, 20)

    broker.stop()  # a restart: the console's clean session loses its subscriptions
    pane.wait(lambda s: "连接中断 connection to the broker LOST" in s, 30, "the lost line")
    offline = hub.sim("press", "--button", "23")["event_id"]  # saved by the hub, sent once the broker is back
    assert hub.proc is not None
    os.kill(hub.proc.pid, signal.SIGSTOP)  # the console is back first: it hears the hub's new status, then
    try:  # the call's delayed event (the order in which the list used to be printed twice)
        broker.start()
        pane.wait(lambda s: "连接已恢复 connection restored" in s and "已重新订阅，断线期间的报警见待处理列表" in s, 30,
                  "the restored line")
    finally:
        os.kill(hub.proc.pid, signal.SIGCONT)
    _call_shown(pane, offline)
    after_restart = hub.sim("press", "--button", "27")["event_id"]
    _call_shown(pane, after_restart)
    lines = pane.screen().splitlines()
    restored = next(i for i, line in enumerate(lines) if "连接已恢复 connection restored" in line)
    raised = next(i for i, line in enumerate(lines) if " call.raised " in line and after_restart in line)
    listed = [line for line in lines[restored:raised] if line.startswith("  ") and f"[id {offline}]" in line]
    assert len(listed) == 1, "\n".join(lines[restored:raised])  # once, whether its status or its event came first

    seen_lost = pane.screen().count("连接中断 connection to the broker LOST")
    assert broker.proc is not None
    stalled_at = time.monotonic()
    os.kill(broker.proc.pid, signal.SIGSTOP)  # a broker that stops answering (a hung host, a NAT drop)
    try:
        pane.wait(lambda s: s.count("连接中断 connection to the broker LOST") > seen_lost, STALL_S + 10,
                  "the lost line for the stall")
        time.sleep(max(0.0, STALL_S - (time.monotonic() - stalled_at)))  # keep it stalled 30+ s in all
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    pane.wait(lambda s: s.count("连接已恢复 connection restored") >= 2, 60, "the restored line after the stall")
    after_stall = hub.sim("press", "--button", "17")["event_id"]
    assert len({first, after_restart, after_stall}) == 3
    _call_shown(pane, after_stall)
    screen = pane.screen()
    assert "最后收到消息 last message received" in screen
    assert "Traceback" not in screen
