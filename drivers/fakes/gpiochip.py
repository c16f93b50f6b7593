"""A model of the lgpio subset the hub uses (drivers/gpiochip.py), for simulation and tests.

One gpiochip: lines claimed as inputs with a pull, for alerts on both edges with the kernel's debounce,
or as outputs (`gpio_write`, `tx_pulse`). The world outside is `drive(pin, level)`: a switch closing
to ground, a PIR's output, the ADS1115's open-drain ALERT line; `drive(pin, None)` lets go (the pull
decides). As the kernel does it, a debounced line reports an edge only once the new level has been
stable for the period (bounce within it: one change, or none if it settles back). As lgpio does it,
callbacks run on one alert thread, in order, with the level and a timestamp in nanoseconds; that
thread sleeps until an alert is queued or a debounce period ends (no wake-ups at rest).

`busy()` says whether an edge is still on its way (queued, being delivered, or waiting out its
debounce period): a virtual-time loop must not jump ahead of it (tests/virtual_time.py's `hold`).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SET_ACTIVE_LOW = 4
SET_OPEN_DRAIN = 8
SET_OPEN_SOURCE = 16
SET_PULL_UP = 32
SET_PULL_DOWN = 64
SET_PULL_NONE = 128
RISING_EDGE = 1
FALLING_EDGE = 2
BOTH_EDGES = 3

log = logging.getLogger(__name__)

AlertFunc = Callable[[int, int, int, int], None]  # (chip, gpio, level, timestamp ns), as lgpio calls it


class error(Exception):  # lgpio's name for its exception
    """What lgpio raises: 'GPIO busy', 'GPIO not allocated', 'bad handle'."""


@dataclass
class _Line:
    handle: int
    mode: str  # "input" | "alert" | "output"
    flags: int
    edges: int = 0
    debounce_ns: int = 0
    out: int = 0
    reported: int = 0  # the level the last alert said (what the kernel's debounce compares with)
    due: int | None = None  # a debounced change waits until then (ns)
    pulse: tuple[int, int, int] | None = None  # tx_pulse's (on µs, off µs, cycles; 0 = for ever)


class _Callback:
    def __init__(self, model: FakeLgpio, gpio: int, edges: int, func: AlertFunc) -> None:
        self.model, self.gpio, self.edges, self.func = model, gpio, edges, func

    def cancel(self) -> None:
        with self.model._cond:
            callbacks = self.model._callbacks.get(self.gpio, [])
            if self in callbacks:
                callbacks.remove(self)
                self.model._cond.notify()  # the alert thread ends with the last callback


class FakeLgpio:
    """The `lgpio` module's functions the hub calls, on a modelled chip (pass it where `lgpio` goes)."""

    error = error
    SET_ACTIVE_LOW, SET_OPEN_DRAIN, SET_OPEN_SOURCE = SET_ACTIVE_LOW, SET_OPEN_DRAIN, SET_OPEN_SOURCE
    SET_PULL_UP, SET_PULL_DOWN, SET_PULL_NONE = SET_PULL_UP, SET_PULL_DOWN, SET_PULL_NONE
    RISING_EDGE, FALLING_EDGE, BOTH_EDGES = RISING_EDGE, FALLING_EDGE, BOTH_EDGES

    def __init__(self, chip: int = 0) -> None:
        self.chip = chip
        self._cond = threading.Condition()
        self._handles: set[int] = set()
        self._next_handle = 1
        self._lines: dict[int, _Line] = {}
        self._driven: dict[int, int] = {}  # what the world outside drives, by pin
        self._callbacks: dict[int, list[_Callback]] = {}
        self._alerts: deque[tuple[int, int, int]] = deque()  # (gpio, level, ns) for the alert thread
        self._deadlines: list[tuple[int, int]] = []  # heap of (due ns, gpio) for debounced lines
        self._delivering = 0
        self._thread: threading.Thread | None = None

    # --- lgpio's API ------------------------------------------------------------------------------
    def gpiochip_open(self, gpiochip: int) -> int:
        if gpiochip != self.chip:
            raise error(f"can not open gpiochip{gpiochip}")
        with self._cond:
            handle, self._next_handle = self._next_handle, self._next_handle + 1
            self._handles.add(handle)
            return handle

    def gpiochip_close(self, handle: int) -> int:
        with self._cond:
            self._handle(handle)
            self._handles.discard(handle)
            for pin in [p for p, line in self._lines.items() if line.handle == handle]:
                del self._lines[pin]
        return 0

    def gpio_claim_input(self, handle: int, gpio: int, lFlags: int = 0) -> int:
        return self._claim(handle, gpio, _Line(handle, "input", lFlags))

    def gpio_claim_alert(self, handle: int, gpio: int, eFlags: int, lFlags: int = 0,
                         notify_handle: int | None = None) -> int:
        return self._claim(handle, gpio, _Line(handle, "alert", lFlags, edges=eFlags))

    def gpio_claim_output(self, handle: int, gpio: int, level: int = 0, lFlags: int = 0) -> int:
        return self._claim(handle, gpio, _Line(handle, "output", lFlags, out=int(bool(level))))

    def gpio_free(self, handle: int, gpio: int) -> int:
        with self._cond:
            self._owned(handle, gpio)
            del self._lines[gpio]
        return 0

    def gpio_set_debounce_micros(self, handle: int, gpio: int, debounce_micros: int) -> int:
        with self._cond:
            self._owned(handle, gpio).debounce_ns = int(debounce_micros) * 1000
        return 0

    def gpio_read(self, handle: int, gpio: int) -> int:
        with self._cond:
            line = self._owned(handle, gpio)
            return line.out if line.mode == "output" else self._level(gpio)

    def gpio_write(self, handle: int, gpio: int, level: int) -> int:
        with self._cond:
            line = self._owned(handle, gpio)
            if line.mode != "output":
                raise error("GPIO not set as an output")
            line.out = int(bool(level))
        return 0

    def tx_pulse(self, handle: int, gpio: int, pulse_on: int, pulse_off: int, pulse_offset: int = 0,
                 pulse_cycles: int = 0) -> int:
        with self._cond:
            line = self._owned(handle, gpio)
            if line.mode != "output":
                raise error("GPIO not set as an output")
            line.pulse = None if pulse_on == 0 and pulse_off == 0 else (pulse_on, pulse_off, pulse_cycles)
        return 0

    def callback(self, handle: int, gpio: int, edge: int = BOTH_EDGES, func: AlertFunc | None = None) -> _Callback:
        if func is None:
            raise error("the model delivers alerts to a function only")
        cb = _Callback(self, gpio, edge, func)
        with self._cond:
            self._handle(handle)
            self._callbacks.setdefault(gpio, []).append(cb)
            if self._thread is None:
                self._thread = threading.Thread(target=self._alert_thread, name="lgpio-alerts", daemon=True)
                self._thread.start()
        return cb

    # --- the world outside, and what tests look at ------------------------------------------------
    def drive(self, gpio: int, level: int | bool | None) -> None:
        """An outside source drives the line (None: lets go, the pull decides). A claimed alert line
        reports the change as the kernel does: at once, or once stable for its debounce period."""
        with self._cond:
            before = self._level(gpio)
            if level is None:
                self._driven.pop(gpio, None)
            else:
                self._driven[gpio] = int(bool(level))
            line = self._lines.get(gpio)
            if line is None or line.mode != "alert" or self._level(gpio) == before:
                return
            if line.debounce_ns:
                line.due = time.monotonic_ns() + line.debounce_ns  # a new change restarts the period
                heapq.heappush(self._deadlines, (line.due, gpio))
            else:
                self._report(gpio, line, self._level(gpio), time.monotonic_ns())
            self._cond.notify()

    def rest(self, gpio: int, level: int | bool) -> None:
        """The line has been at `level` since before anyone looked (a door shut when the unit powered up):
        driven there, its debounced state already that level, no edge and no period running. A
        simulation sets its starting levels with this; drive() is a change someone makes."""
        with self._cond:
            self._driven[gpio] = int(bool(level))
            line = self._lines.get(gpio)
            if line is not None and line.mode == "alert":
                line.reported, line.due = int(bool(level)), None

    def level(self, gpio: int) -> int:
        """The line's level now, as a meter on the pin would read it (claimed or not)."""
        with self._cond:
            line = self._lines.get(gpio)
            return line.out if line is not None and line.mode == "output" else self._level(gpio)

    def claimed(self, gpio: int) -> str | None:
        """How the line is claimed ("input", "alert", "output"), or None."""
        with self._cond:
            line = self._lines.get(gpio)
            return None if line is None else line.mode

    def pulse(self, gpio: int) -> tuple[int, int, int] | None:
        """The output's running tx_pulse (on µs, off µs, cycles), or None."""
        with self._cond:
            line = self._lines.get(gpio)
            return None if line is None else line.pulse

    def busy(self) -> bool:
        """An edge is still on its way to a callback (queued, being delivered, or debouncing)."""
        with self._cond:
            return bool(self._alerts) or self._delivering > 0 or any(
                line.due is not None for line in self._lines.values())

    # --- inside -----------------------------------------------------------------------------------
    def _handle(self, handle: int) -> None:
        if handle not in self._handles:
            raise error("bad handle")

    def _owned(self, handle: int, gpio: int) -> _Line:
        self._handle(handle)
        line = self._lines.get(gpio)
        if line is None or line.handle != handle:
            raise error("GPIO not allocated")
        return line

    def _claim(self, handle: int, gpio: int, line: _Line) -> int:
        with self._cond:
            self._handle(handle)
            held = self._lines.get(gpio)
            if held is not None and held.handle != handle:
                raise error("GPIO busy")
            self._lines[gpio] = line
            line.reported = self._level(gpio)
        return 0

    def _level(self, gpio: int) -> int:  # under the lock
        if gpio in self._driven:
            return self._driven[gpio]
        line = self._lines.get(gpio)
        return 1 if line is not None and line.flags & SET_PULL_UP else 0

    def _report(self, gpio: int, line: _Line, level: int, ns: int) -> None:  # under the lock
        if level == line.reported:
            return
        line.reported = level
        if line.edges & (RISING_EDGE if level else FALLING_EDGE):
            self._alerts.append((gpio, level, ns))

    def _settle(self, now: int) -> None:  # under the lock: debounce periods that have ended
        while self._deadlines and self._deadlines[0][0] <= now:
            due, gpio = heapq.heappop(self._deadlines)
            line = self._lines.get(gpio)
            if line is None or line.due != due:
                continue  # freed, or the line changed again and restarted its period
            line.due = None
            self._report(gpio, line, self._level(gpio), due)

    def _alert_thread(self) -> None:
        while True:
            with self._cond:
                while True:
                    self._settle(time.monotonic_ns())
                    if self._alerts:
                        break
                    if not self._deadlines and not any(self._callbacks.values()):
                        self._thread = None  # nothing left to deliver to: lgpio's thread would idle
                        return
                    wait = (self._deadlines[0][0] - time.monotonic_ns()) / 1e9 if self._deadlines else None
                    self._cond.wait(wait)
                gpio, level, ns = self._alerts.popleft()
                callbacks = list(self._callbacks.get(gpio, [])) if gpio in self._lines else []
                self._delivering += 1
            try:
                for cb in callbacks:
                    if cb.edges & (RISING_EDGE if level else FALLING_EDGE):
                        cb.func(self.chip, gpio, level, ns)
            except Exception:  # a callback's bug must not stop every other line's alerts
                log.exception("GPIO%d alert callback failed", gpio)
            finally:
                with self._cond:
                    self._delivering -= 1
