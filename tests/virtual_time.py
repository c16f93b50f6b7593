"""An asyncio loop whose clock is virtual: time jumps to the next timer whenever the loop has nothing
else to do, so a scenario of minutes runs in a second and its timings are exact, however busy the
machine is.

"Nothing else to do" means: no callback ready, no socket readable right now, no job in an executor
thread (asyncio.to_thread, the outbox's DB thread: espeak renders, SQLite commits, paho's connect).
A test that waits for something outside the loop which takes real time (the broker's CONNACK, a
message it publishes through the broker) does so in a `real_time()` block, where the clock follows
real time, so that no timer fires early just because the outside world is slower than the loop.

Use:  with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner: runner.run(main())
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import selectors
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from hub.core.clock import Clock

REAL_SLICE_S = 0.01  # while waiting on the outside world, look again this often (real seconds)


class _Selector(selectors.BaseSelector):
    """The platform selector, but an idle wait for a timer moves virtual time instead of sleeping."""

    def __init__(self) -> None:
        self.real = selectors.DefaultSelector()
        self.loop: VirtualTimeLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self.real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self.real.get_map()

    def close(self) -> None:
        self.real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self.real.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        assert self.loop is not None
        if self.loop.realtime:
            began = time.monotonic()
            ready = self.real.select(REAL_SLICE_S if timeout is None else min(timeout, REAL_SLICE_S))
            self.loop.advance(time.monotonic() - began)
            return ready
        if self.loop.busy:
            return self.real.select(REAL_SLICE_S if timeout is None else min(timeout, REAL_SLICE_S))
        if timeout is None:
            return self.real.select(None)  # no timer at all: only the outside world can wake us
        self.loop.advance(timeout)
        return []


def _name(func: Callable[..., Any]) -> str:
    """The function an executor job runs (asyncio.to_thread wraps it in a partial of Context.run)."""
    inner = func.args[0] if isinstance(func, functools.partial) and func.args else func
    return str(getattr(inner, "__name__", ""))


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    # Executor jobs that live as long as a part is open (the radar's serial reader thread) are not
    # work the loop waits for: they must not stop time.
    BACKGROUND_JOBS = frozenset({"_read_until_closed"})

    def __init__(self) -> None:
        selector = _Selector()
        super().__init__(selector)
        selector.loop = self
        self._now = 0.0
        self._jobs = 0
        self._realtime = 0
        # Something outside the loop answers in real milliseconds (a live broker's PUBACK): while this
        # says so, the clock does not jump to the next timer (tests/scenario.py).
        self.hold: Callable[[], bool] = lambda: False

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    @property
    def busy(self) -> bool:
        return self._jobs > 0 or self.hold()

    @property
    def realtime(self) -> bool:
        return self._realtime > 0 and self._jobs == 0

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future = super().run_in_executor(executor, func, *args)
        if _name(func) in self.BACKGROUND_JOBS:
            return future
        self._jobs += 1
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, future: asyncio.Future[Any]) -> None:
        self._jobs -= 1

    @contextlib.contextmanager
    def real_time(self) -> Iterator[None]:
        """Inside, the clock follows real time (a broker's reply, a reconnect's back-off): wait here
        for the outside world, so no timer fires early because the outside world is slower."""
        self._realtime += 1
        try:
            yield
        finally:
            self._realtime -= 1


class LoopClock(Clock):
    """The hub's clock on the virtual loop: monotonic is the loop's time, wall time starts at `start`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start: datetime) -> None:
        super().__init__(start.tzinfo)
        self.loop = loop
        self.start = start

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        return self.loop.time() + self._skew
