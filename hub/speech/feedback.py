"""What the resident sees and hears without words: the status LED and the buzzer."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# pattern -> (LED action, buzzer action); gpiozero runs blink/beep on its own background thread.
PATTERNS = {
    "idle": ("off", None),
    "online": ("off", None),
    "offline": ("slow", None),
    "calling": ("fast", "chirp"),
    "sending": ("slow", None),  # a call saved but not yet confirmed by the broker
    "acked": ("on", "chirp"),
    "cancelled": ("off", "chirp"),
    "chirp": (None, "chirp"),
    "alarm": ("fast", "alarm"),
    "alarm_off": ("off", "off"),
    "notice": ("notice", None),  # a notice or reminder waits for a press (hub.notices); calls keep theirs
    "notice_off": ("off", None),
}


class Feedback:
    def __init__(self, pin_factory: Any, led_pin: int, buzzer_pin: int) -> None:
        from gpiozero import LED, Buzzer

        self.led = LED(led_pin, pin_factory=pin_factory)
        self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self.offline = False
        self.current = "idle"
        self._closed = False

    def show(self, pattern: str) -> None:
        if pattern not in PATTERNS:
            raise ValueError(f"unknown feedback pattern {pattern!r}; known: {', '.join(PATTERNS)}")
        if pattern in ("offline", "online"):
            self.offline = pattern == "offline"
            if self.current not in ("idle", "offline", "online"):
                return  # a call or alarm in progress keeps its pattern
        if pattern in ("notice", "notice_off") and self.current not in ("idle", "offline", "online", "notice"):
            return  # a call or alarm in progress keeps its pattern
        if pattern == "notice_off":
            pattern = "idle"
        led, buzz = PATTERNS[pattern]
        if pattern == "idle" and self.offline:
            led = "slow"
        if led is not None:
            self.current = pattern
        try:
            self._led(led)
            self._buzz(buzz)
        except Exception:  # a broken LED must never stop a call
            log.exception("feedback pattern %s failed", pattern)

    def _led(self, action: str | None) -> None:
        if action == "off":
            self.led.off()
        elif action == "on":
            self.led.on()
        elif action == "fast":
            self.led.blink(on_time=0.25, off_time=0.25)
        elif action == "slow":
            self.led.blink(on_time=0.2, off_time=1.8)
        elif action == "notice":
            self.led.blink(on_time=1.0, off_time=1.0)

    def _buzz(self, action: str | None) -> None:
        if action == "chirp":
            self.buzzer.beep(on_time=0.08, off_time=0.08, n=2)
        elif action == "alarm":
            self.buzzer.beep(on_time=0.5, off_time=0.25)
        elif action == "off":
            self.buzzer.off()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.led.close()
            self.buzzer.close()

    def __enter__(self) -> Feedback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
