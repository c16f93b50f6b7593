"""Simulation of the call buttons: `hub sim press [--button PIN] [--hold SECONDS]`.

Drives the mock GPIO line the way a real push button does (contacts bounce on press and release),
then waits until the hub has committed what the press caused and reports its event id.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError, SimParser

BOUNCE_GAP_S = 0.001
TAP_S = 0.15


class SimButtons:
    name = "sim.buttons"

    def __init__(self, config: Config) -> None:
        self.pins = [b["pin"] for b in config["buttons"]]
        self.settle_s = {b["pin"]: b["bounce_ms"] / 1000 + 0.02 for b in config["buttons"]}
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.add_sim_command("press", self.press)

    async def press(self, argv: list[str]) -> dict[str, Any]:
        parser = SimParser("hub sim press")
        parser.add_argument("--button", type=int, default=self.pins[0] if self.pins else None)
        parser.add_argument("--hold", type=float, default=None)
        args = parser.parse_args(argv)
        if args.button not in self.pins:
            raise SimArgumentError(f"no call button on GPIO{args.button}; configured: {self.pins}")
        if args.hold is not None and not 0 <= args.hold <= 120:
            raise SimArgumentError("--hold must be between 0 and 120 seconds")
        ctx = self._ctx
        assert ctx is not None
        calls = ctx.component("calls")
        pin = ctx.hardware.pin_factory.pin(args.button)
        first = calls.wait_press(args.button)
        await _bounce(pin, pressed=True)
        outcome: dict[str, Any] = dict(await asyncio.wait_for(first, 15))
        if args.hold is None:
            await asyncio.sleep(TAP_S)
            await _bounce(pin, pressed=False)
            await asyncio.sleep(self.settle_s[args.button])  # a finger cannot press again sooner
            return outcome
        then = calls.wait_press(args.button)
        await asyncio.sleep(args.hold)
        await _bounce(pin, pressed=False)
        await asyncio.sleep(self.settle_s[args.button])
        try:
            held = await asyncio.wait_for(then, 2)
            outcome["after_hold"] = held["outcome"]
            outcome["after_hold_event_id"] = held["event_id"]
        except TimeoutError:
            then.cancel()
            outcome["after_hold"] = "none"
        return outcome

    async def close(self) -> None:
        self._ctx = None


async def _bounce(pin: Any, pressed: bool) -> None:
    """Button to ground with a pull-up: pressed = low. Three edges of bounce, then settled.

    The edges go in back to back, as contact bounce does (well inside the debounce window): each is
    queued to the loop in order by the button bank, so a busy loop cannot let the bank's release timer
    run between two of them (which, with a sleep between edges, it could: a phantom second press)."""
    settle, other = (pin.drive_low, pin.drive_high) if pressed else (pin.drive_high, pin.drive_low)
    for step in (settle, other, settle, other, settle):
        step()
    await asyncio.sleep(BOUNCE_GAP_S)


def build(config: Config, hardware: Hardware) -> SimButtons | None:
    return SimButtons(config) if hardware.simulated else None
