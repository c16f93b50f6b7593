"""PIR motion (HC-SR501 / AM312 class) on a GPIO, by edge callbacks.

The PIR's output is a clean 3.3 V logic level, high while it sees motion (and for its hold time). A plain
input line (hub.core.lines) with a short debounce: each edge is one callback, nothing samples the line (a
sampling queue thread would wake the CPU five times a second). Callbacks arrive on the GPIO library's
alert thread; the hub hands them to its loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BOUNCE_MS = 50  # a PIR's output is a driven logic level; this only ignores a glitch on a long lead


class PirInput:
    def __init__(
        self,
        lines: Any,  # hub.core.lines.Lines
        pin: int,
        on_motion: Callable[[], None],
        on_still: Callable[[], None] | None = None,
    ) -> None:
        self.pin = pin
        self.part = f"PIR GPIO{pin}"

        def changed(high: bool) -> None:
            if high:
                on_motion()
            elif on_still is not None:
                on_still()

        self._sensor = lines.input(pin, pull_up=False, bounce_ms=BOUNCE_MS, on_change=changed)

    @property
    def active(self) -> bool:
        return bool(self._sensor.value)

    def close(self) -> None:
        self._sensor.close()
