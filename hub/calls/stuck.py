"""A call button held down for minutes is stuck, and a stuck button is a dead one: no new press can come
from it until it is let go, so the resident may press it tomorrow and nothing will happen.

Something leaning on it, a pendant's cord caught, a shorted wire, or a unit powered on with the button
down: the press that began it was a call like any other (raised, kept, escalated). After
`[calls] stuck_after_s` held, `fault.sensor` (component "button", kind "stuck") tells the platform, with a
remedy for the technician, and the status lists it (`stuck_buttons`); the release clears it
(`fault.cleared`). Nothing is said to the resident: she may be the one holding it, and the call it made
is what she needs answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.core.context import HubContext
from hub.core.events import iso_ms

log = logging.getLogger(__name__)

REMEDY = ("呼叫按钮一直被按住，按不出新的呼叫：检查按钮上是否压着东西、挂绳是否被卡住、线是否短路 (GPIO{pin} 与 GND) / "
          "the call button is held down, so no new call can come from it: check nothing rests on it, its cord "
          "is not caught and its wire is not shorted (GPIO{pin} to GND)")


@dataclass
class _Held:
    """One press of one button, from its press until its fault (if any) is cleared."""

    since: str
    timer: asyncio.TimerHandle | None = None
    fault_id: str | None = None  # the fault.sensor raised for it
    released: bool = False
    cleared: bool = False


class StuckButtons:
    def __init__(self, kinds: dict[int, str], after_s: float) -> None:
        self._kinds, self._after_s = kinds, after_s
        self._held: dict[int, _Held] = {}  # the press each button is in now
        self._ctx: HubContext | None = None
        self._changed: Callable[[], None] = lambda: None

    def start(self, ctx: HubContext, changed: Callable[[], None]) -> None:
        """Before the first press: the bank reports a button down at power-on right after it starts."""
        self._ctx, self._changed = ctx, changed

    @property
    def ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("StuckButtons used before start()")
        return self._ctx

    def pressed(self, pin: int) -> None:
        if pin in self._held:
            return  # the same press (the bank reports each press once; a release takes it out)
        held = _Held(since=iso_ms(self.ctx.clock.now()))
        held.timer = asyncio.get_running_loop().call_later(self._after_s, self._stuck, pin, held)
        self._held[pin] = held

    def released(self, pin: int) -> None:
        held = self._held.pop(pin, None)
        if held is None:
            return
        held.released = True
        if held.timer is not None:
            held.timer.cancel()
            held.timer = None
        if held.fault_id is not None:
            self.ctx.spawn(f"calls.unstuck.{pin}", self._clear(pin, held))
        # else its fault may be being committed: _raise clears it once done, in order

    def status(self) -> list[dict[str, Any]]:
        return [{"button": pin, "kind": self._kinds.get(pin), "since": h.since}
                for pin, h in sorted(self._held.items()) if h.fault_id is not None]

    def close(self) -> None:
        for held in self._held.values():
            if held.timer is not None:
                held.timer.cancel()

    def _part(self, pin: int) -> str:
        return f"call button GPIO{pin} ({self._kinds.get(pin, 'call')})"

    def _stuck(self, pin: int, held: _Held) -> None:
        held.timer = None
        self.ctx.spawn(f"calls.stuck.{pin}", self._raise(pin, held))

    async def _raise(self, pin: int, held: _Held) -> None:
        log.warning("call button GPIO%s held down for %.0f s: stuck, no new call can come from it",
                    pin, self._after_s)
        event = await self.ctx.raise_event("fault.sensor", {
            "component": "button", "part": self._part(pin), "kind": "stuck",
            "detail": f"held down for {self._after_s:.0f} s (since {held.since}): no new press can come from it",
            "remedy": REMEDY.format(pin=pin)})
        held.fault_id = event.id
        if held.released:  # let go while it was committed: cleared at once, in order
            await self._clear(pin, held)
        else:
            self._changed()

    async def _clear(self, pin: int, held: _Held) -> None:
        if held.fault_id is None or held.cleared:
            return
        held.cleared = True
        log.info("call button GPIO%s released: no longer stuck", pin)
        await self.ctx.raise_event("fault.cleared", {"component": "button", "part": self._part(pin),
                                                      "kind": "stuck", "fault_id": held.fault_id})
        self._changed()
