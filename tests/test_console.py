"""`hub console`: the installers' stand-in for the platform — watch events, acknowledge calls."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.timeout(120)


def _console(hub_env, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_console_shows_a_call_and_acknowledges_it_with_a(hub_env):
    console = _console(hub_env)
    try:
        assert console.stdout is not None and console.stdin is not None
        assert "watching eldercare/v1/test-0001" in console.stdout.readline()
        time.sleep(0.5)  # subscribed
        call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
        deadline = time.time() + 10
        seen = ""
        while time.time() < deadline and "call.raised" not in seen:
            seen = console.stdout.readline()
        assert "call.raised" in seen and "health" in seen and call_id in seen
        console.stdin.write("a\n")
        console.stdin.flush()
        acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
        assert acked and acked["data"]["by"] == "console"
        console.stdin.write("q\n")
        console.stdin.flush()
        assert console.wait(10) == 0
    finally:
        console.kill()
        console.wait(10)
        for stream in (console.stdin, console.stdout):
            if stream is not None:
                stream.close()


def test_console_ack_once_by_id(hub_env):
    call_id = hub_env.hub.sim("press")["event_id"]
    out = subprocess.run([sys.executable, "-m", "hub", "console", "--config", str(hub_env.hub.config),
                          "--ack", call_id, "--by", "operator-3"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked and acked["data"]["by"] == "operator-3"


def test_console_says_plainly_when_the_broker_is_unreachable(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hub", "console", "--host", "127.0.0.1", "--port", "1",
                          "--hub", "x"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot reach the broker at 127.0.0.1:1" in out.stderr
