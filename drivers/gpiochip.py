"""GPIO lines over lgpio (Pi OS Bookworm's python3-lgpio; what gpiozero itself uses on a Pi 5).

The subset a hub needs: an input is `gpio_claim_alert` on both edges with its pull, the kernel's
debounce (`gpio_set_debounce_micros`: an edge is reported once stable for the period) and
`lgpio.callback`, whose one alert thread delivers the edges; `gpio_read` for a level. An output is
`gpio_claim_output` + `gpio_write`; a blink or a beep is `tx_pulse` on lgpio's pulse thread (no Python
thread per LED). `lg` is the lgpio module, or its model (drivers/fakes/gpiochip.py) in simulation.

`GpioChip` is one backend of hub.core.lines (the other: drivers/gpiozero_pins.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

PULLS = ("up", "down", "none")


class GpioChip:
    def __init__(self, lg: Any = None, chip: int = 0) -> None:
        if lg is None:
            import lgpio as lg  # type: ignore[no-redef]  # Pi OS: python3-lgpio
        self.lg = lg
        self.handle: int = lg.gpiochip_open(chip)
        self._callbacks: dict[int, Any] = {}
        self._pulsing: set[int] = set()
        self._closed = False

    def _pull(self, pull: str) -> int:
        return int({"up": self.lg.SET_PULL_UP, "down": self.lg.SET_PULL_DOWN,
                    "none": self.lg.SET_PULL_NONE}[pull])

    def claim_input(self, pin: int, pull: str, debounce_us: int, on_edge: Callable[[int], None] | None) -> int:
        """Claim `pin` as an input; with `on_edge`, alerts on both edges call it with the new level
        (0/1) on lgpio's alert thread. Returns the level now."""
        lg, h = self.lg, self.handle
        if on_edge is None:
            lg.gpio_claim_input(h, pin, self._pull(pull))
        else:
            lg.gpio_claim_alert(h, pin, lg.BOTH_EDGES, self._pull(pull))
            lg.gpio_set_debounce_micros(h, pin, int(debounce_us))

            def alert(chip: int, gpio: int, level: int, timestamp: int) -> None:
                if level in (0, 1):  # 2 would be a watchdog timeout, which the hub never sets
                    on_edge(level)

            self._callbacks[pin] = lg.callback(h, pin, lg.BOTH_EDGES, alert)
        return int(lg.gpio_read(h, pin))

    def claim_output(self, pin: int, level: int) -> None:
        self.lg.gpio_claim_output(self.handle, pin, int(level))

    def read(self, pin: int) -> int:
        return int(self.lg.gpio_read(self.handle, pin))

    def write(self, pin: int, level: int) -> None:
        self._stop_pulse(pin)
        self.lg.gpio_write(self.handle, pin, int(level))

    def pulse(self, pin: int, on_us: int, off_us: int, cycles: int) -> None:
        """Blink on lgpio's pulse thread: `cycles` on/off pulses, 0 = until written or pulsed again."""
        self.lg.tx_pulse(self.handle, pin, int(on_us), int(off_us), 0, int(cycles))
        self._pulsing.add(pin)

    def _stop_pulse(self, pin: int) -> None:
        if pin in self._pulsing:
            self._pulsing.discard(pin)
            self.lg.tx_pulse(self.handle, pin, 0, 0, 0, 0)

    def free(self, pin: int) -> None:
        callback = self._callbacks.pop(pin, None)
        if callback is not None:
            callback.cancel()
        with contextlib.suppress(Exception):  # freeing a line the chip no longer holds is no error
            self._stop_pulse(pin)
            self.lg.gpio_free(self.handle, pin)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pin in list(self._callbacks):
            self.free(pin)
        with contextlib.suppress(Exception):
            self.lg.gpiochip_close(self.handle)
