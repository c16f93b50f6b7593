"""Replay a recorded home through the wellbeing component on a virtual-time loop (tests/virtual_time.py).

The component is the real one (hub.wellbeing.component); around it a context with just what it uses —
the hub's activity stream, its event fan-out, a clock on the loop — so 25 days of a real home's sensor
events run in seconds. The whole hub with a broker is tests/test_wellbeing_e2e.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from virtual_time import LoopClock, VirtualTimeLoop

from hub.config.loader import Config, validate
from hub.core.activity import ActivityStream
from hub.core.context import Hardware
from hub.core.events import Event
from hub.wellbeing.component import Wellbeing


class ReplayContext:
    """What Wellbeing asks of the hub: the activity stream, committed events, status, a clock."""

    def __init__(self, config: Config, clock: LoopClock) -> None:
        self.config = config
        self.clock = clock
        self.activity = ActivityStream()
        self.hardware = Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=lambda *a, **k: None)
        self.events: list[Event] = []
        self.status: dict[str, Any] = {}
        self.sim: dict[str, Any] = {}
        self.commands: dict[str, Any] = {}
        self._listeners: list[Any] = []
        self.tasks: list[asyncio.Task[Any]] = []

    async def raise_event(self, event_type: str, data: dict[str, Any], ts: datetime | None = None) -> Event:
        event = Event(event_type, data, ts or self.clock.now())
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)
        return event

    def on_event(self, listener: Any) -> None:
        self._listeners.append(listener)

    def set_status(self, key: str, value: Any) -> None:
        self.status[key] = value

    def add_sim_command(self, verb: str, handler: Any) -> None:
        self.sim[verb] = handler

    def add_platform_command(self, name: str, handler: Any) -> None:
        self.commands[name] = handler

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task


def wellbeing_config(state_dir: Path, zone: str = "UTC", **wellbeing: Any) -> Config:
    raw = {"hub": {"id": "t-wellbeing", "state_dir": str(state_dir), "timezone": zone},
           "mqtt": {"host": "127.0.0.1"}, "wellbeing": wellbeing}
    return Config(state_dir.parent / "hub.toml", validate(raw))


def replay(config: Config, start: datetime, signs: Iterable[tuple[datetime, str]], until: datetime,
           events: Iterable[tuple[datetime, str, dict[str, Any]]] = ()) -> ReplayContext:
    """Start the component at `start`, note each (time, source) at its time, raise each hub event at its
    time, run on to `until`; returns the context with every event the component raised."""
    timeline = sorted([(ts, 0, source, {}) for ts, source in signs]
                      + [(ts, 1, kind, data) for ts, kind, data in events], key=lambda x: (x[0], x[1]))

    async def main(loop: VirtualTimeLoop) -> ReplayContext:
        clock = LoopClock(loop, start - timedelta(seconds=loop.time()))
        ctx = ReplayContext(config, clock)
        component = Wellbeing(config)
        await component.start(ctx)  # type: ignore[arg-type]
        for ts, is_event, what, data in timeline:
            wait = (ts - clock.now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            if is_event:
                await ctx.raise_event(what, data, clock.now())
            else:
                ctx.activity.note(what, clock.now())
        await asyncio.sleep(max(0.0, (until - clock.now()).total_seconds()))
        await component.close()
        for task in ctx.tasks:
            task.cancel()
        await asyncio.gather(*ctx.tasks, return_exceptions=True)
        return ctx

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        loop = runner.get_loop()
        return runner.run(main(loop))  # type: ignore[arg-type]
