"""Helpers for the installer/technician end-to-end tests: a private mosquitto, a `hub run --simulate`
subprocess, and `hub` CLI calls, all on free ports and temp dirs. Skips when mosquitto is absent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Broker, mosquitto_binary

ROOT = Path(__file__).resolve().parent.parent


def mosquitto() -> str:
    found = mosquitto_binary()
    if found is None:
        pytest.skip("mosquitto not installed (apt-get install mosquitto)")
    return found


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("NOTIFY_SOCKET", None)
    e.pop("WATCHDOG_USEC", None)
    return e


@contextlib.contextmanager
def broker(tmp: Path) -> Iterator[int]:
    mosquitto()  # skips when absent
    b = Broker(tmp).start()
    try:
        yield b.port
    finally:
        b.stop()


def write_config(tmp: Path, port: int, hub_id: str = "t-install", extra: str = "") -> Path:
    cfg = tmp / "hub.toml"
    cfg.write_text(
        f'[hub]\nid = "{hub_id}"\nstate_dir = "{tmp / "state"}"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n\n[voice]\nenabled = false\n{extra}'
    )
    return cfg


def hub_cli(*args: str, timeout: float = 90, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@contextlib.contextmanager
def running_hub(cfg: Path, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`hub run --simulate` until its control socket exists (it starts after the components)."""
    log = open(cfg.parent / "hub.log", "ab")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "--simulate", "--config", str(cfg)],
        stdout=log,
        stderr=log,
        env={**env(), **(extra_env or {})},
        start_new_session=True,
    )
    try:
        sock = cfg.parent / "state" / "control.sock"
        end = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError("hub did not start: " + (cfg.parent / "hub.log").read_text()[-800:])
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
