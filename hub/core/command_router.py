"""Route platform commands (`{prefix}/{hub}/cmd/NAME`) to their handlers, one task each.

The core answers `ack` (the open-alarm registry) and `ping`; components add the rest with
`ctx.add_platform_command`. Everything is validated first (hub.core.platform_commands); a refused or
failing command is logged, rate-limited, and never reaches paho's thread as an exception.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from hub.core.context import CommandHandler
from hub.core.loglimit import clip
from hub.core.platform_commands import PING_RATE, RateLimitedLog, TokenBucket, parse_command

log = logging.getLogger(__name__)

CORE_COMMANDS = {"ack", "ping"}


class CommandRouter:
    def __init__(self, max_bytes: Callable[[], int], spawn: Callable[[str, Coroutine[Any, Any, Any]], Any],
                 ack: Callable[[dict[str, Any]], Awaitable[Any]],
                 pong: Callable[[dict[str, Any]], Awaitable[Any]]) -> None:
        self._max_bytes = max_bytes
        self._spawn = spawn
        self._ack = ack
        self._pong = pong
        self._handlers: dict[str, CommandHandler] = {}
        self._ignored = RateLimitedLog(log)
        self._pings = TokenBucket(PING_RATE, PING_RATE)

    def add(self, name: str, handler: CommandHandler) -> None:
        if name in CORE_COMMANDS:
            raise ValueError(f"platform command {name!r} belongs to the core")
        self._handlers[name] = handler

    def names(self) -> set[str]:
        return set(self._handlers) | CORE_COMMANDS

    def received(self, name: str, payload: bytes) -> None:
        """Called from the uplink on the loop with the raw MQTT payload."""
        try:
            command = parse_command(name, payload, self._max_bytes(), known=self.names())
        except ValueError as exc:
            self._ignored.warning("ignored platform command: %s", exc)
            return
        if name == "ping" and not self._pings.take(time.monotonic()):
            self._ignored.warning("ignored cmd/ping: more than %d a second", PING_RATE)
            return
        self._spawn(f"cmd.{command.name}", self._run(command.name, command.body))

    async def _run(self, name: str, body: dict[str, Any]) -> None:
        try:
            if name == "ack":
                await self._ack(body)
            elif name == "ping":
                await self._pong(body)
            else:
                await self._handlers[name](body)
        except Exception:
            log.exception("platform command %s failed: %s", name, clip(json.dumps(body, ensure_ascii=False)))
