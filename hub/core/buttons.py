"""Call buttons on GPIO: debounced in software on the leading edge, with hold detection.

The first edge counts at once (a call must not wait for the contacts to settle); further edges within
`bounce_ms` are contact bounce. A release counts only once the line has stayed released for
`bounce_ms`. The lines (hub.core.lines) carry no debounce of their own, so the first edge is not
held back; their backend delivers edges on its alert thread and they are handed to the loop here.

A line already low when it is claimed is a press that began before the hub was running (the installer
holds the set-up button while plugging the unit in): it counts as pressed from now, with its hold timed
from now, because no edge will ever announce it and its release would otherwise be dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.core.clock import Clock
from hub.core.lines import Input, Lines

PressHandler = Callable[[int, datetime], None]
ReleaseHandler = Callable[[int, float], None]  # (pin, held seconds)
HoldHandler = Callable[[int], None]


@dataclass
class _Line:
    pin: int
    bounce_s: float
    device: Input | None = None
    pressed: bool = False
    raw_active: bool = False
    press_mono: float = 0.0
    release_timer: asyncio.TimerHandle | None = None
    hold_timer: asyncio.TimerHandle | None = None


class ButtonBank:
    def __init__(self, lines: Lines, buttons: list[dict[str, Any]], clock: Clock, hold_s: float,
                 on_press: PressHandler, on_release: ReleaseHandler, on_hold: HoldHandler) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock = clock
        self.hold_s = hold_s
        self.on_press, self.on_release, self.on_hold = on_press, on_release, on_hold
        self.lines: dict[int, _Line] = {}
        self._closed = False
        try:
            for spec in buttons:
                line = _Line(spec["pin"], spec["bounce_ms"] / 1000)
                # No debounce on the line: the leading-edge debounce here keeps the first edge; the
                # hold is timed on the loop (no thread waking per button).
                line.device = lines.input(spec["pin"], pull_up=True, on_change=self._edge_callback(line))
                self.lines[line.pin] = line
                if not line.device.value:  # held down already; queued ahead of any edge that follows
                    self._loop.call_soon(self._edge, line, True, clock.now(), clock.monotonic())
        except BaseException:
            self.close()
            raise

    def _edge_callback(self, line: _Line) -> Callable[[bool], None]:
        def callback(level: bool) -> None:  # on the lines' alert thread; pressed pulls the line low
            ts, mono = self.clock.now(), self.clock.monotonic()
            self._loop.call_soon_threadsafe(self._edge, line, not level, ts, mono)
        return callback

    def _edge(self, line: _Line, active: bool, ts: datetime, mono: float) -> None:
        line.raw_active = active
        if active:
            if line.release_timer is not None:
                line.release_timer.cancel()  # bounce on release: still pressed
                line.release_timer = None
            if not line.pressed:
                line.pressed = True
                line.press_mono = mono
                line.hold_timer = self._loop.call_later(self.hold_s, self._hold, line)
                self.on_press(line.pin, ts)
        elif line.pressed and line.release_timer is None:
            line.release_timer = self._loop.call_later(line.bounce_s, self._settled_release, line, mono)

    def _settled_release(self, line: _Line, mono: float) -> None:
        line.release_timer = None
        if line.raw_active:
            return
        line.pressed = False
        if line.hold_timer is not None:
            line.hold_timer.cancel()
            line.hold_timer = None
        self.on_release(line.pin, mono - line.press_mono)

    def _hold(self, line: _Line) -> None:
        line.hold_timer = None
        if line.pressed:
            self.on_hold(line.pin)

    def is_pressed(self, pin: int) -> bool:
        return self.lines[pin].pressed

    def held_since(self, pin: int) -> float | None:
        """When (monotonic) the button now held down was pressed; None when it is up."""
        line = self.lines.get(pin)
        return line.press_mono if line is not None and line.pressed else None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for line in self.lines.values():
            for timer in (line.release_timer, line.hold_timer):
                if timer is not None:
                    timer.cancel()
            if line.device is not None:
                with contextlib.suppress(Exception):
                    line.device.close()

    def __enter__(self) -> ButtonBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
