"""An in-process uplink against a test's real broker, for tests that drive `Uplink` without a hub: the
coordinator's callbacks reduced to what the uplink needs (DB work on a thread, an empty status, no fault
expected), its connection and sender running as tasks, and every delivered id recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hub.config.loader import Config
from hub.core.outbox import Outbox
from hub.core.uplink.session import Uplink


@asynccontextmanager
async def running_uplink(config: Config, outbox: Outbox) -> AsyncIterator[tuple[Uplink, list[str]]]:
    """(the running uplink, the ids it has delivered so far); closed and its tasks ended on exit."""

    async def on_db(fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def status() -> dict[str, Any]:
        return {}

    async def report(*args: Any) -> Any:
        raise AssertionError(f"no fault expected: {args}")

    delivered: list[str] = []
    uplink = Uplink(config, outbox=outbox, db=on_db, on_command=lambda topic, payload: None, status=status,
                    report=report, spawn=lambda name, coro: asyncio.ensure_future(coro), commands=lambda: ["ack"])
    uplink.on_delivered = delivered.append
    tasks = [asyncio.create_task(t) for t in (uplink.run_connection(), uplink.run_sender())]
    try:
        yield uplink, delivered
    finally:
        await uplink.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
