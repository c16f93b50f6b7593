"""GPIO lines over gpiozero's pins: the backend of hub.core.lines for boards without lgpio, and for the
tests that drive gpiozero `MockFactory` pins.

The same calls as drivers/gpiochip.py, on gpiozero's pin layer (not its device classes): an input is
a pin with its pull and `when_changed` on both edges, called on the pin factory's thread (the driving
thread, for mock pins). The debounce is the kernel's rule, applied here in software so both backends
agree (gpiozero's own bounce differs by factory and its mock pins have none): a change is reported once
the level has been stable for the period, from a timer thread. A blink runs on a thread of its own per
line, as gpiozero's LED.blink does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

_PULL = {"up": "up", "down": "down", "none": "floating"}


class _Blink:
    def __init__(self, pin: Any, on_s: float, off_s: float, cycles: int) -> None:
        self.pin, self.on_s, self.off_s, self.cycles = pin, on_s, off_s, cycles
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"blink-{pin}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set() and (self.cycles == 0 or n < self.cycles):
            self.pin.state = 1
            if self.stop.wait(self.on_s):
                break
            self.pin.state = 0
            n += 1
            if self.stop.wait(self.off_s):
                break
        self.pin.state = 0

    def cancel(self) -> None:
        self.stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join()


class _Debounce:
    """Report the level once it has been stable for `period_s` after the last edge."""

    def __init__(self, pin: Any, period_s: float, on_edge: Callable[[int], None]) -> None:
        self.pin, self.period_s, self.on_edge = pin, period_s, on_edge
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def edge(self, ticks: Any, state: Any) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()  # a new edge restarts the period
            timer = self.timer = threading.Timer(self.period_s, self._settled)
            timer.args = (timer,)
            timer.daemon = True
            timer.start()

    def _settled(self, timer: threading.Timer) -> None:
        with self.lock:
            if self.timer is not timer:
                return  # cancelled, or restarted by a later edge
            self.timer = None
        self.on_edge(int(bool(self.pin.state)))

    @property
    def pending(self) -> bool:
        with self.lock:
            return self.timer is not None

    def cancel(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None


class GpiozeroPins:
    def __init__(self, factory: Any = None) -> None:
        if factory is None:
            from gpiozero import Device

            factory = Device._default_pin_factory()
        self.factory = factory
        self._pins: dict[int, Any] = {}
        self._blinks: dict[int, _Blink] = {}
        self._debounce: dict[int, _Debounce] = {}
        self._handlers: dict[int, Callable[[Any, Any], None]] = {}

    def _pin(self, number: int) -> Any:
        pin = self._pins.get(number)
        if pin is None:
            pin = self._pins[number] = self.factory.pin(number)
        return pin

    def claim_input(self, pin: int, pull: str, debounce_us: int, on_edge: Callable[[int], None] | None) -> int:
        p = self._pin(pin)
        p.function = "input"
        p.pull = _PULL[pull]
        if on_edge is not None:
            p.edges = "both"
            handler: Callable[[Any, Any], None]
            if debounce_us:
                debounce = self._debounce[pin] = _Debounce(p, debounce_us / 1e6, on_edge)
                handler = debounce.edge
            else:
                def handler(ticks: Any, state: Any) -> None:
                    on_edge(int(bool(state)))
            self._handlers[pin] = handler  # gpiozero keeps only a weak reference to it
            p.when_changed = handler
        return int(bool(p.state))

    def busy(self) -> bool:
        """A debounced change is waiting out its period."""
        return any(d.pending for d in list(self._debounce.values()))

    def claim_output(self, pin: int, level: int) -> None:
        p = self._pin(pin)
        p.function = "output"
        p.state = int(level)

    def read(self, pin: int) -> int:
        return int(bool(self._pin(pin).state))

    def write(self, pin: int, level: int) -> None:
        self._stop_blink(pin)
        self._pin(pin).state = int(level)

    def pulse(self, pin: int, on_us: int, off_us: int, cycles: int) -> None:
        self._stop_blink(pin)
        self._blinks[pin] = _Blink(self._pin(pin), on_us / 1e6, off_us / 1e6, cycles)

    def _stop_blink(self, pin: int) -> None:
        blink = self._blinks.pop(pin, None)
        if blink is not None:
            blink.cancel()

    def free(self, pin: int) -> None:
        self._stop_blink(pin)
        self._handlers.pop(pin, None)
        debounce = self._debounce.pop(pin, None)
        if debounce is not None:
            debounce.cancel()
        p = self._pins.pop(pin, None)
        if p is not None:
            with contextlib.suppress(Exception):
                p.when_changed = None
                p.close()

    def close(self) -> None:
        for pin in list(self._pins):
            self.free(pin)
