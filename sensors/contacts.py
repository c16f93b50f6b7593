"""Dry contacts on a GPIO: door reed switches and bed/chair pressure mats, on an input line.

The contact goes between the pin and ground and the pin's internal pull-up holds it high while the
contact is open. The line's debounce (on lgpio the kernel's: a change counts once stable for
`bounce_ms`) drops the chatter of a closing contact; callbacks arrive on the GPIO library's alert
thread and the hub hands them to its loop. `active` is what the contact means (a door
open, a mat occupied), whichever way round the switch works (`active_when_closed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ContactInput:
    def __init__(self, lines: Any, pin: int, active_when_closed: bool, bounce_ms: int,
                 on_change: Callable[[bool], None], part: str) -> None:
        self.pin = pin
        self.part = part
        self.active_when_closed = active_when_closed
        # With the pull-up, the contact closed pulls the line low.
        self._device = lines.input(pin, pull_up=True, bounce_ms=bounce_ms,
                                   on_change=lambda high: on_change(high != self.active_when_closed))

    @property
    def active(self) -> bool:
        closed = not self._device.value
        return closed == self.active_when_closed

    def close(self) -> None:
        self._device.close()
