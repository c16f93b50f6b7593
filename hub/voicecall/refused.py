"""Stranger INVITEs: refused without a word each, counted, and reported as one `voice.refused` event per
`[voice_call] refused_summary_s` (docs/schemas/voice.refused.json).

A stranger is an INVITE that did not come from the SIP server (or an `accept_from` proxy), or that
came from it but names no target or allowed caller. Anyone who reaches the SIP port can send
hundreds a second; one event each would flood the platform and the SD card, so only the first of a
period is logged, and the period's count, first and last time and masked sources go out together.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from hub.core.events import iso_ms

log = logging.getLogger(__name__)
WRONG_SOURCE, NOT_ALLOWED = "wrong_source", "caller_not_allowed"
MAX_SOURCES = 10  # distinct masked sources listed in one summary; the rest are counted as "other"


def mask(host: str) -> str:
    """An address with its host part hidden: 203.0.113.7 -> 203.0.113.x, 2001:db8:1:2::7 -> 2001:db8:1::x.
    Enough to tell one network from another, not to name a household."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".x"
    network = ipaddress.IPv6Network(f"{address}/48", strict=False)
    return str(network.network_address).rstrip(":") + "::x"


class RefusedSummary:
    """Counts strangers; `emit` is called once a period (from the first stranger on) with the summary."""

    def __init__(self, period_s: float, now: Callable[[], datetime],
                 emit: Callable[[dict[str, Any]], Coroutine[Any, Any, object]]) -> None:
        self.period_s = period_s
        self._now = now
        self._emit = emit
        self._count = 0
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._sources: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._timer: asyncio.TimerHandle | None = None
        self.total = 0

    def note(self, host: str, reason: str, peer: str) -> None:
        now = self._now()
        if self._count == 0:
            self._first = now
            log.warning("voice call: refused a call from a stranger (%s, %s, %s); further ones are counted and "
                        "reported every %.0f s as voice.refused", mask(host), reason, peer[:80], self.period_s)
            self._timer = asyncio.get_running_loop().call_later(self.period_s, self._flush)
        self._count += 1
        self.total += 1
        self._last = now
        source = mask(host)
        if source in self._sources or len(self._sources) < MAX_SOURCES:
            self._sources[source] += 1
        else:
            self._sources["other"] += 1
        self._reasons[reason] += 1

    def _flush(self) -> None:
        data = self.take()
        if data is not None:
            log.warning("voice call: %d stranger call(s) refused in %.0f s from %s", data["count"], self.period_s,
                        ", ".join(data["sources"]))
            asyncio.get_running_loop().create_task(self._emit(data), name="voice_call.refused")

    def take(self) -> dict[str, Any] | None:
        """The period's summary (and a fresh period), or None if nobody was refused."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._count == 0 or self._first is None or self._last is None:
            return None
        data = {"count": self._count, "first": iso_ms(self._first), "last": iso_ms(self._last),
                "period_s": self.period_s, "sources": dict(self._sources.most_common()),
                "reasons": dict(self._reasons)}
        self._count = 0
        self._sources.clear()
        self._reasons.clear()
        return data

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
