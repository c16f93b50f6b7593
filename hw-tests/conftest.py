"""On-device hardware tests for technicians: `pytest hw-tests/ [--hub-config PATH] [--simulate]`.

Pins and I2C addresses come from the hub's config (default: $HUB_CONFIG or /etc/eldercare-hub/hub.toml).
A part that is not fitted, or hardware that is absent (no GPIO chip, no /dev/i2c-N), is skipped — never
failed — so the suite runs anywhere; on a Pi with the parts fitted it fails only on a real fault.
`--simulate` runs the same checks against a running `hub run --simulate` with that config (the hub
owns the simulated hardware, so the checks run inside it through its control socket, `selftest.auto`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import ConfigError, load, resolve_path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hub-config", default=None, help="hub config (default $HUB_CONFIG or the system path)")
    parser.addoption("--simulate", action="store_true", help="check a running `hub run --simulate`")


@pytest.fixture(scope="session")
def config(pytestconfig: pytest.Config) -> Any:
    path = resolve_path(pytestconfig.getoption("--hub-config"))
    try:
        return load(path)
    except ConfigError as exc:
        pytest.skip(f"no usable hub config: {exc}")


class Runner:
    """Runs one automatic check: inside the running hub when it answers, else on this machine."""

    def __init__(self, config: Any, simulate: bool) -> None:
        from hub.core.control import socket_path

        self.config, self.simulate = config, simulate
        self.sock: Path = socket_path(config.state_dir)

    def hub_running(self) -> bool:
        from hub.core.control import ControlError, request

        try:
            request(self.sock, {"cmd": "selftest.steps"}, timeout=3)
            return True
        except (ControlError, OSError):
            return False

    def check(self, component: str) -> list[dict[str, str]]:
        from hub.core.control import request

        if self.hub_running():
            return list(request(self.sock, {"cmd": "selftest.auto", "only": component}, timeout=120)["results"])
        if self.simulate:
            pytest.skip("--simulate needs `hub run --simulate` running with this config")
        from hub.core.simulation import real_hardware
        from hub.selftest.run import Env, run_automatic

        try:
            hardware = real_hardware()
        except RuntimeError as exc:
            pytest.skip(f"no GPIO here: {exc}")
        return [r.as_dict() for r in asyncio.run(run_automatic(Env(self.config, hardware), component))]


@pytest.fixture(scope="session")
def runner(config: Any, pytestconfig: pytest.Config) -> Runner:
    return Runner(config, bool(pytestconfig.getoption("--simulate")))


def i2c_present(config: Any, runner: Runner) -> bool:
    return runner.simulate or Path(f"/dev/i2c-{config['sensors']['i2c_bus']}").exists()


def assert_passed(rows: list[dict[str, str]], component: str) -> None:
    if not rows:
        pytest.skip(f"{component}: not fitted in the config")
    failed = [r for r in rows if r["result"] == "fail"]
    assert not failed, "; ".join(f"{r['component']}: {r['value']} -> {r['remedy']}" for r in failed)
    if all(r["result"] == "skip" for r in rows):
        pytest.skip("; ".join(r["value"] for r in rows))
