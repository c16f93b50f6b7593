"""GPIO lines for the hub's parts: what buttons, the PIR, power, smoke and contact lines, the LED and
the buzzer use instead of gpiozero's device classes.

`Lines` sits on one chip backend, chosen once in hub/core/simulation.py: drivers/gpiochip.py over
lgpio on a Pi (or its model, drivers/fakes/gpiochip.py, in simulation), drivers/gpiozero_pins.py on
other boards. `lines.input(pin, pull_up, bounce_ms, on_change)` claims an input: `on_change(level)`
runs on the backend's alert thread at each change of level (the backend's debounce applied: on lgpio
the kernel's, an edge reported once stable for `bounce_ms`); `value` is the level now.
`lines.output(pin)` claims an output with `on`, `off` and `blink(on_s, off_s, n)`. Both are context
managers with an idempotent `close()`. `lines.read(pin, pull_up)` is the self-test's look at a line:
the level of a line the hub holds, else of a line it claims as an input for the look.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, Self

LevelHandler = Callable[[bool], None]


class Chip(Protocol):
    def claim_input(self, pin: int, pull: str, debounce_us: int,
                    on_edge: Callable[[int], None] | None) -> int: ...
    def claim_output(self, pin: int, level: int) -> None: ...
    def read(self, pin: int) -> int: ...
    def write(self, pin: int, level: int) -> None: ...
    def pulse(self, pin: int, on_us: int, off_us: int, cycles: int) -> None: ...
    def free(self, pin: int) -> None: ...
    def close(self) -> None: ...


def _pull(pull_up: bool | None) -> str:
    return "none" if pull_up is None else "up" if pull_up else "down"


class Lines:
    def __init__(self, chip: Chip) -> None:
        self.chip = chip
        self._held: dict[int, _Claimed] = {}
        self._looked: set[int] = set()  # lines claimed only for the self-test's reads
        self._closed = False

    def input(self, pin: int, pull_up: bool | None, bounce_ms: float = 0,
              on_change: LevelHandler | None = None) -> Input:
        return Input(self, pin, pull_up, bounce_ms, on_change)

    def output(self, pin: int, level: bool = False) -> Output:
        return Output(self, pin, level)

    def read(self, pin: int, pull_up: bool | None) -> bool:
        """The line's level: read where the hub holds it, else claimed as an input with the pull."""
        if pin not in self._held and pin not in self._looked:
            self.chip.claim_input(pin, _pull(pull_up), 0, None)
            self._looked.add(pin)
        return bool(self.chip.read(pin))

    def holds(self, pin: int) -> bool:
        return pin in self._held

    def _claim(self, pin: int, line: _Claimed) -> None:
        if pin in self._held:
            raise ValueError(f"GPIO{pin} is already in use by this hub")
        if pin in self._looked:
            self._looked.discard(pin)
            self.chip.free(pin)
        self._held[pin] = line

    def _release(self, pin: int, line: _Claimed) -> None:
        if self._held.get(pin) is line:
            del self._held[pin]
            self.chip.free(pin)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for line in list(self._held.values()):
            line.close()
        for pin in list(self._looked):
            self.chip.free(pin)
        self._looked.clear()
        self.chip.close()

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Claimed:
    """What a claimed line of either direction has: its level, an idempotent close() that releases the
    claim (safe against the alert thread), and use as a context manager."""

    lines: Lines
    pin: int
    _lock: threading.Lock
    _closed: bool

    @property
    def value(self) -> bool:
        return bool(self.lines.chip.read(self.pin))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.lines._release(self.pin, self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Input(_Claimed):
    """A claimed input. `on_change(level)` once per change of level (repeats dropped)."""

    def __init__(self, lines: Lines, pin: int, pull_up: bool | None, bounce_ms: float = 0,
                 on_change: LevelHandler | None = None) -> None:
        self.lines, self.pin = lines, pin
        self._on_change = on_change
        self._lock = threading.Lock()
        self._closed = False
        lines._claim(pin, self)
        self._last = -1
        try:
            level = lines.chip.claim_input(pin, _pull(pull_up), round(bounce_ms * 1000),
                                           self._edge if on_change is not None else None)
        except BaseException:
            lines._release(pin, self)
            raise
        with self._lock:
            if self._last < 0:
                self._last = level

    def _edge(self, level: int) -> None:  # the backend's alert thread
        with self._lock:
            if level == self._last or self._closed:
                return
            self._last = level
        if self._on_change is not None:
            self._on_change(bool(level))



class Output(_Claimed):
    """A claimed output: `on`, `off`, `blink(on_s, off_s, n)` (n None: until on/off/blink again)."""

    def __init__(self, lines: Lines, pin: int, level: bool = False) -> None:
        self.lines, self.pin = lines, pin
        self._lock = threading.Lock()
        self._closed = False
        lines._claim(pin, self)
        try:
            lines.chip.claim_output(pin, int(level))
        except BaseException:
            lines._release(pin, self)
            raise

    def on(self) -> None:
        self.lines.chip.write(self.pin, 1)

    def off(self) -> None:
        self.lines.chip.write(self.pin, 0)

    def blink(self, on_s: float, off_s: float, n: int | None = None) -> None:
        self.lines.chip.pulse(self.pin, round(on_s * 1e6), round(off_s * 1e6), n or 0)

