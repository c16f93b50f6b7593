"""Each fitted part answers with plausible values (the same checks as `hub selftest`)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Runner, assert_passed, i2c_present


def test_temperature_sensor(config: Any, runner: Runner) -> None:
    if config["temperature"]["part"] == "none":
        pytest.skip("no temperature sensor fitted")
    if not i2c_present(config, runner):
        pytest.skip(f"no /dev/i2c-{config['sensors']['i2c_bus']} on this machine")
    assert_passed(runner.check("temperature"), "temperature")


def test_smoke_sensor(config: Any, runner: Runner) -> None:
    kind = config["smoke"]["kind"]
    if kind == "none":
        pytest.skip("no smoke sensor fitted")
    if kind == "analog" and not i2c_present(config, runner):
        pytest.skip(f"no /dev/i2c-{config['sensors']['i2c_bus']} on this machine")
    assert_passed(runner.check("smoke"), "smoke")


@pytest.mark.parametrize("component", ["pir", "buttons", "power"])
def test_gpio_inputs(config: Any, runner: Runner, component: str) -> None:
    assert_passed(runner.check(component), component)


@pytest.mark.parametrize("component", ["modem", "ble", "audio"])
def test_peripherals(config: Any, runner: Runner, component: str) -> None:
    assert_passed(runner.check(component), component)
