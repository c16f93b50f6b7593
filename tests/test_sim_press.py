"""`hub sim press` never leaves the simulated button held: not when the hub reports no outcome in
time, not when the caller hangs up mid-press."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import fakes
import pytest

from hub.calls import sim as sim_press
from hub.config.loader import Config, validate
from hub.core.control import ControlError
from hub.core.simulation import simulated_hardware


class SilentCalls:
    """A call manager that hears the press but never reports an outcome (a hub in trouble)."""

    def __init__(self) -> None:
        self.waiting: list[asyncio.Future[dict[str, Any]]] = []

    def wait_press(self, pin: int) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        return future


class Pin:
    """GPIO17 of the simulated chip, claimed with its pull-up as the call button's line is."""

    def __init__(self, hardware: Any) -> None:
        self.model = hardware.world.gpio
        self.line = hardware.gpio.input(17, pull_up=True)

    @property
    def state(self) -> int:
        return int(self.model.level(17))


async def started(tmp_path: Path) -> tuple[sim_press.SimButtons, Pin, SilentCalls]:
    config = Config(tmp_path / "hub.toml", validate({"hub": {"state_dir": str(tmp_path)}}))
    hub = fakes.FakeHub(config)
    hub.hardware = simulated_hardware()
    calls = SilentCalls()
    hub.components = {"calls": calls}
    buttons = sim_press.SimButtons(config)
    await buttons.start(hub)  # type: ignore[arg-type]  # FakeHub is a structural stand-in
    pin = Pin(hub.hardware)
    assert pin.state == 1  # idle: released, the pull-up holds the line high
    return buttons, pin, calls


def test_a_press_that_times_out_releases_the_button(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_press, "PRESS_TIMEOUT_S", 0.2)

    async def body() -> None:
        buttons, pin, calls = await started(tmp_path)
        with pytest.raises(ControlError, match="no outcome within"):
            await buttons.press(["--button", "17"])
        assert pin.state == 1  # released (pull-up: high)
        assert all(f.cancelled() for f in calls.waiting)
    asyncio.run(body())


def test_a_press_abandoned_by_its_caller_releases_the_button(tmp_path: Path) -> None:
    async def body() -> None:
        buttons, pin, _ = await started(tmp_path)
        task = asyncio.ensure_future(buttons.press(["--button", "17", "--hold", "5"]))
        while pin.state == 1:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # settled low: held down
        assert pin.state == 0
        task.cancel()  # the control client hung up (Ctrl-C on `hub sim press`)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pin.state == 1
    asyncio.run(body())
