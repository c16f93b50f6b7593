"""Who may make the unit answer: the auto-answer windows, and whether an INVITE came from the SIP server.

A window opens for `auto_answer_min` when an alarm of `auto_answer_kinds` is committed (default: an
emergency call, a fall, a fire) and closes early when that call is cancelled. Several may be open at
once; the call-back is answered while any is. An INVITE is the server's only if every trace of it
(drivers/sip/trace.py) shows it arriving from the server's address and port, or from an
`accept_from` entry; a Call-ID seen from anywhere else, or in a trace that did not parse, is not.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from drivers.sip.listen import registrar, split
from drivers.sip.setup import AgentSettings
from drivers.sip.trace import Source
from hub.core.events import Event
from hub.voicecall.refused import NOT_ALLOWED, WRONG_SOURCE, RefusedSummary
from hub.voicecall.rules import who_is

if TYPE_CHECKING:
    from hub.core.context import HubContext
    from hub.voicecall.calls import Call

log = logging.getLogger(__name__)

TRACE_WAIT_S = 2.0  # the trace line and the ctrl_tcp event travel apart: wait this long for the trace
RESOLVE_EVERY_S = 60.0


class Traced(Protocol):
    def invite_sources(self, call_id: str) -> set[Source]: ...


async def invite_sources(agent: Traced, call_id: str, gave_up: Callable[[], bool]) -> set[Source]:
    """The INVITE's sources from the trace, waiting up to TRACE_WAIT_S for them (empty: never seen)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TRACE_WAIT_S
    while not (sources := agent.invite_sources(call_id)) and loop.time() < deadline and not gave_up():
        await asyncio.sleep(0.02)
    return sources


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

    async def refusal(self, sources: set[Source], who: str | None) -> str | None:
        """Why a call is a stranger's (WRONG_SOURCE, NOT_ALLOWED), or None: a known party via the server."""
        if not await self.trusted(sources):
            return WRONG_SOURCE
        return NOT_ALLOWED if who is None else None

    async def trusted(self, sources: set[Source]) -> bool:
        if not sources:
            return False
        allowed = await self.addresses()
        return all(source.host and ((source.host, source.port) in allowed or (source.host, None) in allowed)
                   for source in sources)


class Gate:
    """Whether an incoming call may be answered: the windows, the server's addresses, the strangers'
    count. The component does the answering and the refusing."""

    def __init__(self, v: dict[str, Any], settings: AgentSettings, on_change: Callable[[], None]) -> None:
        self.v = v
        self.windows = Windows()
        self._peers = Peers(settings, v["accept_from"]) if v["account"] is not None else None
        self._on_change = on_change  # `hub status` says how long the window stays open
        self._timer: asyncio.TimerHandle | None = None
        self.refused: RefusedSummary | None = None

    def start(self, ctx: HubContext) -> None:
        self.refused = RefusedSummary(float(self.v["refused_summary_s"]), ctx.clock.now,
                                      lambda data: ctx.raise_event("voice.refused", data))

    def alarm(self, event: Event) -> None:
        """An alarm was committed: open its window if its kind is one that is answered."""
        minutes, kind = float(self.v["auto_answer_min"]), window_kind(event)
        if minutes <= 0 or kind is None or kind not in self.v["auto_answer_kinds"]:
            return
        self.windows.open(event.id, kind, minutes * 60)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(minutes * 60 + 0.5, self._on_change)

    def cancelled(self, call_id: str) -> None:
        if self.windows.close(call_id):  # a cancelled call is no reason to open the microphone
            log.info("voice call: call %s cancelled; its auto-answer window is closed", call_id)
            self._on_change()

    async def stranger(self, agent: Traced, call: Call) -> bool:
        """True if the call is a stranger's (now counted): not via the server, or no known party."""
        assert self._peers is not None and self.refused is not None and call.call_id is not None
        sources = await invite_sources(agent, call.call_id, lambda: call.ended)
        reason = await self._peers.refusal(sources, who_is(self.v, call.peer))
        if reason is not None:
            self.refused.note(next((s.host for s in sources if s.host), ""), reason, call.peer)
        return reason is not None

    async def close(self, ctx: HubContext) -> None:
        if self._timer is not None:
            self._timer.cancel()
        data = self.refused.take() if self.refused is not None else None
        if data is not None:  # the period's count is not lost with the shutdown
            try:
                await asyncio.wait_for(ctx.raise_event("voice.refused", data), 2.0)
            except Exception as exc:
                log.warning("voice call: the last voice.refused summary was not committed: %s", exc)
