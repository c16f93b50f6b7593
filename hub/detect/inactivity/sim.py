"""Simulation of a silent home: `hub sim inactivity HOURS` moves the hub's clock on with no activity.

The clock advances in one-minute steps and the inactivity component looks at it after each, so the
check prompt, the wait for an answer and the alarm happen in simulated time, in their real order.
"""

from __future__ import annotations

from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimArgumentError

STEP_S = 60.0
MAX_HOURS = 72.0


class SimInactivity:
    name = "sim.inactivity"

    def __init__(self) -> None:
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.add_sim_command("inactivity", self.advance)

    async def close(self) -> None:
        self._ctx = None

    async def advance(self, argv: list[str]) -> dict[str, Any]:
        if len(argv) != 1:
            raise SimArgumentError("用法 usage: hub sim inactivity HOURS (e.g. 12 or 0.5)")
        try:
            hours = float(argv[0])
        except ValueError:
            raise SimArgumentError(f"HOURS 应为数字 must be a number, got {argv[0]!r}") from None
        if not 0 < hours <= MAX_HOURS:
            raise SimArgumentError(f"HOURS 应大于 0、不超过 {MAX_HOURS:g} must be above 0 and at most {MAX_HOURS:g}")
        ctx = self._ctx
        assert ctx is not None
        monitor = ctx.component("inactivity")
        if monitor is None:
            raise ControlError("无活动检测已关闭 the inactivity detector is off ([inactivity] enabled = false)")
        left = hours * 3600
        decisions = 0
        while left > 0:
            step = min(STEP_S, left)
            ctx.clock.advance(step)
            left -= step
            decisions += await monitor.tick()
        status = monitor.status()
        return {"advanced_h": hours, "now": ctx.clock.now().isoformat(timespec="seconds"),
                "decisions": decisions, **status}


def build(config: Config, hardware: Hardware) -> SimInactivity | None:
    if not hardware.simulated or not config["inactivity"]["enabled"]:
        return None
    return SimInactivity()
