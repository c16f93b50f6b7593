"""GPIO lines for tests, on either backend of hub.core.lines: the lgpio chip model (what
`hub run --simulate` and a Pi run) or gpiozero's MockFactory pins (the backend for other boards).

`gpio_lines(kind)` gives the lines and `drive(pin, level)`, the world outside driving a pin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from drivers.fakes.gpiochip import FakeLgpio
from drivers.gpiochip import GpioChip
from hub.core.lines import Lines

BACKENDS = ("lgpio-model", "gpiozero-mock")
Drive = Callable[[int, int], None]


@contextmanager
def gpio_lines(kind: str) -> Iterator[tuple[Lines, Drive, Callable[[], bool]]]:
    """(lines, drive, busy): busy() says an edge may still be on its way to a callback."""
    if kind == "lgpio-model":
        model = FakeLgpio()
        with Lines(GpioChip(model)) as lines:
            yield lines, model.drive, model.busy
        return
    from gpiozero.pins.mock import MockFactory

    from drivers.gpiozero_pins import GpiozeroPins

    factory = MockFactory()

    def drive(pin: int, level: int) -> None:
        p = factory.pin(pin)
        (p.drive_high if level else p.drive_low)()

    pins = GpiozeroPins(factory)
    try:
        with Lines(pins) as lines:
            yield lines, drive, pins.busy  # mock pins call back on the driving thread; debounce on a timer
    finally:
        factory.reset()
