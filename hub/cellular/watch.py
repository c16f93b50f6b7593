"""A watch over the modem task: if it dies (a bug, a cancellation) or stops going round (stuck in an
exchange or a listener), the component is told (`cellular.modem` becomes "fault" in `hub status` and the
self-test) and the task is started again, with backoff (2 s doubling to 5 min, back to 2 s once it is
healthy again). The task promises with `beat(budget)` to go round again within `budget` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)
Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class TaskWatch:
    def __init__(self, name: str, run: Callable[[], Coroutine[Any, Any, None]], on_fault: Callable[[str], None],
                 healthy: Callable[[], bool], tidy: Callable[[], Awaitable[None]], stall_s: float,
                 every_s: float) -> None:
        self.name, self._run, self._on_fault, self._healthy, self._tidy = name, run, on_fault, healthy, tidy
        self.stall_s, self.every_s = stall_s, every_s
        self.restarts = 0
        self._alive_until = 0.0  # monotonic
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.stopped = False

    def beat(self, budget: float | None = None) -> None:
        """The task will go round again within `budget` seconds (default stall_s)."""
        self._alive_until = time.monotonic() + (self.stall_s if budget is None else budget)

    def start(self, spawn: Spawn) -> None:
        self.beat()
        self._task = spawn(self.name, self._run())
        self._watcher = spawn(f"{self.name}.watch", self._watch(spawn))

    def stop(self) -> None:
        """The component closes: the task is no longer watched nor started again."""
        self.stopped = True
        if self._watcher is not None:
            self._watcher.cancel()

    def why(self) -> str | None:
        """What is wrong with the task, or None."""
        task = self._task
        if task is None:
            return None
        if task.done():
            if task.cancelled():
                return "was cancelled"
            exc = task.exception()
            return f"died: {exc!r}" if exc is not None else "ended"
        late = time.monotonic() - self._alive_until
        return f"stopped going round ({late + self.stall_s:.0f} s silent)" if late > 0 else None

    async def _watch(self, spawn: Spawn) -> None:
        delay = 2.0
        while not self.stopped:
            await asyncio.sleep(self.every_s)
            why = self.why()
            if why is None:
                if self._healthy():
                    delay = 2.0
                continue
            self.restarts += 1
            self._on_fault(f"{self.name} task {why}")
            log.error("4G 模块任务故障，%.0f 秒后重启 / task %s %s: restarting it in %.0f s", delay, self.name, why,
                      delay)
            task = self._task
            if task is not None:
                task.cancel()
                await asyncio.wait({task})  # its end, without taking its exception (or our own cancellation)
            await self._tidy()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)
            self.beat()
            self._task = spawn(self.name, self._run())
