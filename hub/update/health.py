"""A version on trial proves itself: connected to the broker, then the non-interactive self-test
(`hub selftest --non-interactive --json`, the technicians' command, run against this very process
through its control socket) passes — all within the marker's time limit."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from hub.core.context import HubContext
from hub.core.control import ControlError, request, socket_path
from hub.update.layout import Marker

POLL_S = 0.5


class HealthCheck:
    def __init__(self, ctx: HubContext, marker: Marker) -> None:
        self.ctx = ctx
        self.marker = marker
        self._proc: asyncio.subprocess.Process | None = None
        self.running = False

    async def run(self) -> tuple[bool, str]:
        self.running = True
        try:
            return await self._run()
        finally:
            self.running = False

    async def _run(self) -> tuple[bool, str]:
        # The wall-clock deadline survives restarts; this process also keeps its own monotonic limit.
        budget = max(1.0, min(self.marker.timeout_s, self.marker.deadline - time.time()))
        end = self.ctx.clock.monotonic() + budget
        if not await self._until(lambda: self.ctx.online, end):
            return False, f"no broker connection within {self.marker.timeout_s:.0f} s"
        state_dir = self.ctx.config.state_dir
        if not await self._until(lambda: _answers(state_dir), end, blocking=True):
            return False, "the control socket did not answer (the self-test cannot run)"
        return await self._selftest(end)

    async def _until(self, ready: Any, end: float, blocking: bool = False) -> bool:
        while self.ctx.clock.monotonic() < end:
            if await asyncio.to_thread(ready) if blocking else ready():
                return True
            await asyncio.sleep(POLL_S)
        return False

    async def _selftest(self, end: float) -> tuple[bool, str]:
        cmd = [sys.executable, "-m", "hub", "selftest", "--non-interactive", "--json",
               "--config", str(self.ctx.config.path)]
        self._proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                          stdout=asyncio.subprocess.PIPE,
                                                          stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(self._proc.communicate(),
                                              timeout=max(1.0, end - self.ctx.clock.monotonic()))
        except TimeoutError:
            self.cancel()
            return False, f"the self-test did not finish within {self.marker.timeout_s:.0f} s"
        try:
            result = json.loads(out)
        except ValueError:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return False, f"the self-test did not run: {tail[0]}"
        if result.get("ok"):
            return True, ""
        failed = [r for r in result.get("results", []) if r.get("result") == "fail"]
        what = "; ".join(f"{r.get('component')}: {r.get('value')}" for r in failed[:3])
        return False, f"self-test failed: {what or result.get('failed_components')}"

    def cancel(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()


def _answers(state_dir: Any) -> bool:
    try:
        request(socket_path(state_dir), {"cmd": "status"}, timeout=5)
        return True
    except (ControlError, OSError, ValueError):
        return False
