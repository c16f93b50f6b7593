"""Simulation of the wall clock being set: `hub sim clock-step SECONDS` (negative: backwards).

As NTP does after a boot without network, or a technician fixing a wrong RTC: the wall clock jumps,
the monotonic clock does not. The hub must notice (log), keep its timers, and raise no alarm from it
(docs/reliability.md). Simulated hubs only: the real clock is the system's.
"""

from __future__ import annotations

from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError

MAX_STEP_S = 10 * 366 * 86400.0


class SimClock:
    name = "sim.clock"

    def __init__(self) -> None:
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.add_sim_command("clock-step", self.step)

    async def close(self) -> None:
        self._ctx = None

    async def step(self, argv: list[str]) -> dict[str, Any]:
        if len(argv) != 1:
            raise SimArgumentError("用法 usage: hub sim clock-step SECONDS (e.g. 31536000, or -3600 to go back)")
        try:
            seconds = float(argv[0])
        except ValueError:
            raise SimArgumentError(f"SECONDS 应为数字 must be a number, got {argv[0]!r}") from None
        if not 0 < abs(seconds) <= MAX_STEP_S:
            raise SimArgumentError("SECONDS 不能为 0，前后不超过十年 must be non-zero and at most ten years either way")
        ctx = self._ctx
        assert ctx is not None
        before = ctx.clock.now()
        ctx.clock.step_wall(seconds)
        return {"before": before.isoformat(timespec="seconds"),
                "now": ctx.clock.now().isoformat(timespec="seconds"), "stepped_s": seconds}


def build(config: Config, hardware: Hardware) -> SimClock | None:
    return SimClock() if hardware.simulated else None
