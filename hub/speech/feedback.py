"""What the resident sees and hears without words: the status LED and the buzzer."""

from __future__ import annotations

import logging

from hub.core.lines import Lines

log = logging.getLogger(__name__)

# pattern -> (LED action, buzzer action); a blink or a beep is a pulse train on the GPIO library's pulse
# thread (lgpio's tx_pulse), no Python thread per output.
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
    def __init__(self, lines: Lines, led_pin: int, buzzer_pin: int) -> None:
        self.led = lines.output(led_pin)
        try:
            self.buzzer = lines.output(buzzer_pin)
        except BaseException:
            self.led.close()
            raise
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
            self.led.blink(0.25, 0.25)
        elif action == "slow":
            self.led.blink(0.2, 1.8)
        elif action == "notice":
            self.led.blink(1.0, 1.0)

    def _buzz(self, action: str | None) -> None:
        if action == "chirp":
            self.buzzer.blink(0.08, 0.08, 2)
        elif action == "alarm":
            self.buzzer.blink(0.5, 0.25)
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
