"""Run `python -m hub ...` with its asyncio loop instrumented, for bench/idle.py.

Every time the loop thread sleeps in epoll and wakes up, the cause is counted: the timer that fell due
(named by the task waiting on it: `asyncio.sleep`, `wait_for` timeouts, `call_later`), a socket or pipe
it watches, or a hand-over from another thread (`call_soon_threadsafe`, named by the callback it
queued). A select with a zero timeout is not a wake-up (the loop had work already) and is not counted.
SIGUSR1 writes the counts so far (and the Python name of every thread, by native id) to the JSON file
named by $HUB_LOOPWATCH_OUT, and starts counting again.

Usage: HUB_LOOPWATCH_OUT=F python bench/_loopwatch.py run --simulate --config C
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import runpy
import selectors
import signal
import sys
import threading
import time
from typing import Any

COUNTS: collections.Counter[str] = collections.Counter()
STARTED = [time.monotonic()]


def _task_of(fut: Any) -> str | None:
    for entry in getattr(fut, "_callbacks", None) or ():
        fn = entry[0] if isinstance(entry, tuple) else entry
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, asyncio.Task):
            return f"task {owner.get_name()}"
        if isinstance(owner, asyncio.Future):  # a wait_for's inner future, gathered ones
            name = _task_of(owner)
            if name:
                return name
    return None


def _name(handle: Any) -> str:
    for arg in getattr(handle, "_args", None) or ():
        if isinstance(arg, asyncio.Future):
            name = _task_of(arg)
            if name:
                return name
    cb = getattr(handle, "_callback", None)
    owner = getattr(cb, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return f"task {owner.get_name()}"
    return getattr(cb, "__qualname__", None) or repr(cb)[:60]


def _where(ident: int | None) -> str:
    """The innermost frame of the project's code (not the standard library) a thread is in now."""
    frame = sys._current_frames().get(ident or 0)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(root) and "/.venv/" not in path:
            return f"{os.path.relpath(path, root)}:{frame.f_code.co_name}"
        frame = frame.f_back
    return ""


def _dump(loop: asyncio.AbstractEventLoop) -> None:
    now = time.monotonic()
    out = {"seconds": now - STARTED[0], "wakeups": dict(COUNTS),
           "threads": {str(t.native_id): f"{t.name} {_where(t.ident)}" for t in threading.enumerate()}}
    with open(os.environ["HUB_LOOPWATCH_OUT"], "w", encoding="utf-8") as f:
        json.dump(out, f)
    COUNTS.clear()
    STARTED[0] = now


class CountingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    _hooked = False

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is not None and timeout <= 0:
            return super().select(timeout)
        loop: Any = asyncio.events._get_running_loop()
        if loop is not None and not self._hooked:
            self._hooked = True
            loop.add_signal_handler(signal.SIGUSR1, _dump, loop)
        timer = loop._scheduled[0] if loop is not None and loop._scheduled else None
        events = super().select(timeout)
        if not events:
            COUNTS["timer: " + (_name(timer) if timer is not None else "?")] += 1
            return events
        ssock = getattr(loop, "_ssock", None)
        for key, _mask in events:
            if ssock is not None and key.fd == ssock.fileno():
                ready = [_name(h) for h in list(loop._ready)[:1]] or ["signal"]
                COUNTS["from a thread: " + ready[0]] += 1
            else:
                reader = key.data[0] if isinstance(key.data, tuple) and key.data[0] is not None else None
                COUNTS["io: " + (_name(reader) if reader is not None else f"fd {key.fd}")] += 1
            break  # one wake-up, named by its first cause
        return events


selectors.DefaultSelector = CountingSelector  # type: ignore[misc]
sys.argv = ["hub", *sys.argv[1:]]
runpy.run_module("hub", run_name="__main__", alter_sys=True)
