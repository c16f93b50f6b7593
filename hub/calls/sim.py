"""Simulation of the call buttons: `hub sim press [--button PIN] [--hold SECONDS]`, and `hub sim button
stuck|free [--button PIN]` (a button left held down, e.g. something leaning on it, until set free).

Drives the GPIO chip model's line the way a real push button does (contacts bounce on press and release),
then waits until the hub has committed what the press caused and reports its event id.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimArgumentError, SimParser

BOUNCE_GAP_S = 0.001
TAP_S = 0.15
PRESS_TIMEOUT_S = 15.0  # the hub commits a call in milliseconds; this is for a hub in trouble
RELEASE_TIMEOUT_S = 5.0
MAX_HOLD_S = 120.0
STUCK_MARGIN_S = 60.0  # a hold this much past stuck_after_s: the stuck button stays in `hub status` a minute


class SimButtons:
    name = "sim.buttons"

    def __init__(self, config: Config) -> None:
        self.pins = [b["pin"] for b in config["buttons"]]
        self.settle_s = {b["pin"]: b["bounce_ms"] / 1000 + 0.02 for b in config["buttons"]}
        # long enough to hold a button past [calls] stuck_after_s and read the status while it is stuck
        self.max_hold_s = max(MAX_HOLD_S, config["calls"]["stuck_after_s"] + STUCK_MARGIN_S)
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.add_sim_command("press", self.press)
        ctx.add_sim_command("button", self.button)

    async def press(self, argv: list[str]) -> dict[str, Any]:
        parser = SimParser("hub sim press")
        parser.add_argument("--button", type=int, default=self.pins[0] if self.pins else None)
        parser.add_argument("--hold", type=float, default=None)
        args = parser.parse_args(argv)
        self._check_pin(args.button)
        if args.hold is not None and not 0 <= args.hold <= self.max_hold_s:
            raise SimArgumentError(f"--hold 应在 0 到 {self.max_hold_s:g} 秒之间 must be between 0 and "
                                   f"{self.max_hold_s:g} seconds ([calls] stuck_after_s + {STUCK_MARGIN_S:g})")
        ctx = self._ctx
        assert ctx is not None
        calls = self._calls()
        chip, pin = ctx.hardware.world.gpio, args.button
        first = calls.wait_press(args.button)
        try:
            await _bounce(chip, pin, pressed=True)
            return await self._after_press(chip, pin, args.hold, first)
        finally:
            # A press that timed out or was abandoned (the caller hung up) must not leave the
            # simulated button held down: the next press would never be seen.
            if not first.done():
                first.cancel()
            if chip.level(pin) == 0:
                chip.drive(pin, 1)

    async def button(self, argv: list[str]) -> dict[str, Any]:
        parser = SimParser("hub sim button")
        parser.add_argument("state", choices=("stuck", "free"))
        parser.add_argument("--button", type=int, default=self.pins[0] if self.pins else None)
        args = parser.parse_args(argv)
        ctx, pin = self._ctx, self._check_pin(args.button)
        assert ctx is not None
        chip, calls = ctx.hardware.world.gpio, self._calls()
        if args.state == "free":
            if chip.level(pin) == 1:
                return {"button": pin, "was": "up"}
            await _bounce(chip, pin, pressed=False)
            await self._released(pin)
            return {"button": pin, "was": "down", "released": True}
        if chip.level(pin) == 0:
            return {"button": pin, "was": "down"}
        first = calls.wait_press(pin)
        await _bounce(chip, pin, pressed=True)  # and left down: its press counts as any press does
        outcome = await _outcome(first, pin, "the button stays held down")
        return {**outcome, "button": pin, "held_down": True,
                "stuck_after_s": ctx.config["calls"]["stuck_after_s"]}

    async def _after_press(self, chip: Any, button: int, hold: float | None,
                           first: asyncio.Future[dict[str, Any]]) -> dict[str, Any]:
        calls = self._calls()
        outcome = await _outcome(first, button, "button released")
        if hold is None:
            await asyncio.sleep(TAP_S)
            await _bounce(chip, button, pressed=False)
            await self._released(button)
            return outcome
        then = calls.wait_press(button)
        await asyncio.sleep(hold)
        await _bounce(chip, button, pressed=False)
        await self._released(button)
        try:
            held = await asyncio.wait_for(then, 2)
            outcome["after_hold"] = held["outcome"]
            outcome["after_hold_event_id"] = held["event_id"]
        except TimeoutError:
            then.cancel()
            outcome["after_hold"] = "none"
        return outcome

    async def _released(self, button: int) -> None:
        """Until the hub has seen the button up (the release's edges handed from the chip's alert thread
        to the loop, and the bank's release debounce run out), then a finger's pause. A fixed sleep
        from the moment the edges were driven was not enough on a loaded machine: the next press came
        while the bank still held the line pressed, and was taken for bounce (no call, no outcome)."""
        assert self._ctx is not None
        await self._ctx.hardware.world.settled()
        end = asyncio.get_running_loop().time() + RELEASE_TIMEOUT_S
        while self._calls().is_pressed(button) and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.005)
        await asyncio.sleep(self.settle_s[button])  # a finger cannot press again sooner

    def _check_pin(self, pin: int | None) -> int:
        if pin is None or pin not in self.pins:
            raise SimArgumentError(f"GPIO{pin} 上没有呼叫按钮 no call button on GPIO{pin}; "
                                   f"已配置 configured: {', '.join(f'GPIO{p}' for p in self.pins) or 'none'}")
        return pin

    def _calls(self) -> Any:
        assert self._ctx is not None
        return self._ctx.component("calls")

    async def close(self) -> None:
        self._ctx = None


async def _outcome(first: asyncio.Future[dict[str, Any]], pin: int, then: str) -> dict[str, Any]:
    """What the press caused, as the hub reports it; a hub in trouble that reports nothing is said so."""
    try:
        return dict(await asyncio.wait_for(first, PRESS_TIMEOUT_S))
    except TimeoutError:
        first.cancel()
        raise ControlError(f"已按下 GPIO{pin}，终端没有回应 pressed, but the hub reported no outcome within "
                           f"{PRESS_TIMEOUT_S:.0f} s (see the hub's log); {then}") from None


async def _bounce(chip: Any, pin: int, pressed: bool) -> None:
    """Button to ground with a pull-up: pressed = low. Three edges of bounce, then settled.

    The edges go in back to back, as contact bounce does (well inside the debounce window): each is
    queued to the loop in order by the button bank, so a busy loop cannot let the bank's release timer
    run between two of them (which, with a sleep between edges, it could: a phantom second press).
    The chip model's one alert thread delivers them in order, as lgpio's does."""
    settle, other = (0, 1) if pressed else (1, 0)
    for level in (settle, other, settle, other, settle):
        chip.drive(pin, level)
    await asyncio.sleep(BOUNCE_GAP_S)


def build(config: Config, hardware: Hardware) -> SimButtons | None:
    return SimButtons(config) if hardware.simulated else None
