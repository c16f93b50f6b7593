"""Dry contacts on a GPIO: door reed switches and bed/chair pressure mats, through gpiozero.

The contact goes between the pin and ground and the pin's internal pull-up holds it high while the
contact is open. gpiozero's bounce filter drops the chatter of a closing contact; callbacks arrive on
gpiozero's thread and the hub hands them to its loop. `active` is what the contact means (a door
open, a mat occupied), whichever way round the switch works (`active_when_closed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ContactInput:
    def __init__(self, pin_factory: Any, pin: int, active_when_closed: bool, bounce_ms: int,
                 on_change: Callable[[bool], None], part: str) -> None:
        from gpiozero import DigitalInputDevice

        self.pin = pin
        self.part = part
        self.active_when_closed = active_when_closed
        self._device = DigitalInputDevice(pin, pull_up=True, bounce_time=bounce_ms / 1000 or None,
                                          pin_factory=pin_factory)
        # With the pull-up, gpiozero's "active" is the contact closed (the line pulled low).
        self._device.when_activated = lambda: on_change(self.active_when_closed)
        self._device.when_deactivated = lambda: on_change(not self.active_when_closed)

    @property
    def active(self) -> bool:
        closed = bool(self._device.is_active)
        return closed == self.active_when_closed

    def close(self) -> None:
        self._device.close()
