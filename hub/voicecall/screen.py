"""Who may make the unit answer: the auto-answer windows, and whether an INVITE came from the SIP server.

A window opens for `auto_answer_min` when an alarm of `auto_answer_kinds` is committed (default: an
emergency call, a fall, a fire) and closes early when that call is cancelled. Several may be open at
once; the call-back is answered while any is. An INVITE is the server's only if every trace of it
(drivers/sip/trace.py) shows it arriving from the server's address and port, or from an
`accept_from` entry; a Call-ID seen from anywhere else, or in a trace that did not parse, is not.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

from drivers.sip.listen import registrar, split
from drivers.sip.setup import AgentSettings
from drivers.sip.trace import Source
from hub.core.events import Event

TRACE_WAIT_S = 2.0  # the trace line and the ctrl_tcp event travel apart: wait this long for the trace
RESOLVE_EVERY_S = 60.0


def window_kind(event: Event) -> str | None:
    """The `auto_answer_kinds` name of an alarm event (call kind, alarm.<kind>, health), or None."""
    if event.type == "call.raised":
        return str(event.data.get("kind") or "emergency")
    if event.type.startswith("alarm.") and not event.type.endswith(("_cleared", ".acknowledged")):
        return event.type.removeprefix("alarm.")
    return "health" if event.type == "health.alert" else None


@dataclass
class Window:
    trigger: str
    kind: str
    until: float  # monotonic


class Windows:
    def __init__(self) -> None:
        self._open: dict[str, Window] = {}

    def open(self, trigger: str, kind: str, seconds: float) -> None:
        self._open[trigger] = Window(trigger, kind, time.monotonic() + seconds)

    def close(self, trigger: str) -> bool:
        return self._open.pop(trigger, None) is not None

    def current(self) -> Window | None:
        """The open window that lasts longest (None: no call is answered by itself now)."""
        now = time.monotonic()
        for trigger in [t for t, w in self._open.items() if w.until <= now]:
            del self._open[trigger]
        return max(self._open.values(), key=lambda w: w.until, default=None)

    def left_s(self) -> float:
        window = self.current()
        return window.until - time.monotonic() if window is not None else 0.0


class Peers:
    """The addresses calls may come from, resolved from names now and then (the server may move)."""

    def __init__(self, settings: AgentSettings, accept_from: list[str]) -> None:
        server, port = registrar(settings)
        self._names: list[tuple[str, int | None]] = [(server, port)]
        for entry in accept_from:
            host, text = split(entry.strip())
            self._names.append((host, int(text) if text.isdigit() else None))
        self._resolved: set[tuple[str, int | None]] = set()
        self._at = -RESOLVE_EVERY_S

    async def addresses(self) -> set[tuple[str, int | None]]:
        if time.monotonic() - self._at < RESOLVE_EVERY_S and self._resolved:
            return self._resolved
        loop = asyncio.get_running_loop()
        found: set[tuple[str, int | None]] = set()
        for host, port in self._names:
            try:
                infos = await loop.getaddrinfo(host, port or 0, type=socket.SOCK_DGRAM)
            except OSError:
                continue  # the name does not resolve now: nothing comes from it
            found |= {(str(info[4][0]), port) for info in infos}
        self._resolved, self._at = found, time.monotonic()
        return found

    async def trusted(self, sources: set[Source]) -> bool:
        if not sources:
            return False
        allowed = await self.addresses()
        return all(source.host and ((source.host, source.port) in allowed or (source.host, None) in allowed)
                   for source in sources)
