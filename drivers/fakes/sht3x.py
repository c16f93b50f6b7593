"""Register-accurate model of a Sensirion SHT3x for the fake I2C bus.

Behaves as the datasheet describes for the commands the driver uses: single-shot measurement with
and without clock stretching, status read/clear, soft reset, heater. Without clock stretching the
chip NACKs reads (and new commands) until the measurement is done; a read when no data is pending
is NACKed too. Every word it sends carries its CRC-8.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from drivers.fakes.i2c import FakeChip, nack
from drivers.sht3x import raw_from_humidity, raw_from_temperature, word_with_crc

# command -> typical measurement time in seconds (datasheet): no-stretch and stretch variants.
_MEASURE = {0x2400: 0.0125, 0x240B: 0.0045, 0x2416: 0.0025, 0x2C06: 0.0125, 0x2C0D: 0.0045, 0x2C10: 0.0025}
_STRETCH = {0x2C06, 0x2C0D, 0x2C10}
_STATUS_RESET_DETECTED = 0x0010
_STATUS_COMMAND_FAILED = 0x0002
_STATUS_HEATER = 0x2000


class FakeSHT3x(FakeChip):
    """Settable temperature (optionally ramping) and humidity, a little read noise, faults.

    Faults: 'nack' (gone from the bus), 'short' (reads cut short), 'bad_crc' (first CRC wrong),
    'stuck' (raw words frozen at the values when the fault was set), 'impossible' (raw 0x0000, -45 °C).
    """

    FAULTS = ("nack", "short", "bad_crc", "stuck", "impossible")

    def __init__(
        self,
        temperature_c: float = 22.0,
        humidity_pct: float = 45.0,
        noise_lsb: int = 3,
        now: Callable[[], float] = time.monotonic,
        seed: int = 3,
    ) -> None:
        super().__init__(now)
        self._base_c, self._ramp_c_per_min, self._ramp_t0 = temperature_c, 0.0, now()
        self.humidity_pct = humidity_pct
        self.noise_lsb = noise_lsb
        self._rng = random.Random(seed)
        self.status = _STATUS_RESET_DETECTED  # set at power-up until cleared
        self._ready_at: float | None = None  # a measurement is running or done but unread
        self._pending: bytes | None = None  # bytes a read will return (status answer)
        self._stuck: tuple[int, int] | None = None
        self.measurements = 0

    # -- the world's side ------------------------------------------------------------------------
    def temperature_at(self, t: float) -> float:
        with self.lock:
            return self._base_c + self._ramp_c_per_min * (t - self._ramp_t0) / 60.0

    @property
    def temperature_c(self) -> float:
        return self.temperature_at(self.now())

    def set_temperature(self, celsius: float, ramp_c_per_min: float = 0.0) -> None:
        """Jump to `celsius` now, then change by `ramp_c_per_min` (0: hold)."""
        with self.lock:
            self._base_c, self._ramp_c_per_min, self._ramp_t0 = celsius, ramp_c_per_min, self.now()

    def set_humidity(self, percent: float) -> None:
        with self.lock:
            self.humidity_pct = percent

    def _fault_changed(self) -> None:
        self._stuck = self._raw_words() if self.fault == "stuck" else None

    def _raw_words(self) -> tuple[int, int]:
        jitter = self._rng.randint(-self.noise_lsb, self.noise_lsb) if self.noise_lsb else 0
        raw_t = max(0, min(0xFFFF, raw_from_temperature(self.temperature_c) + jitter))
        return raw_t, raw_from_humidity(max(0.0, min(100.0, self.humidity_pct)))

    # -- the bus side ----------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self._ready_at is not None and self.now() < self._ready_at

    def i2c_write(self, data: bytes) -> None:
        if len(data) == 0:
            return  # address-only probe: acknowledged unless busy
        if self._busy():
            raise nack("SHT3x busy measuring")
        if len(data) < 2:
            raise nack("SHT3x commands are 16 bits")
        command = data[0] << 8 | data[1]
        self._pending = None
        if command in _MEASURE:
            stretch = command in _STRETCH  # the host is held until done: ready at once from its view
            self._ready_at = self.now() + (0.0 if stretch else _MEASURE[command])
            self.measurements += 1
        elif command == 0xF32D:
            self._ready_at = None
            self._pending = word_with_crc(self.status)
        elif command == 0x3041:
            self.status &= ~(_STATUS_RESET_DETECTED | _STATUS_COMMAND_FAILED | 0x8000 | 0x0C00 | 0x0001)
        elif command == 0x30A2:
            self.status = _STATUS_RESET_DETECTED
            self._ready_at = None
        elif command in (0x306D, 0x3066):
            self.status = self.status | _STATUS_HEATER if command == 0x306D else self.status & ~_STATUS_HEATER
        elif command == 0x3093:  # break: stop periodic mode (we have none running)
            self._ready_at = None
        else:
            self.status |= _STATUS_COMMAND_FAILED
            raise nack(f"SHT3x does not know command 0x{command:04x}")

    def i2c_read(self, length: int) -> bytes:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending + b"\xff" * max(0, length - len(pending))
        if self._ready_at is None:
            raise nack("SHT3x has no data (no measurement started)")
        if self._busy():
            raise nack("SHT3x busy measuring")
        self._ready_at = None
        if self.fault == "impossible":
            raw_t, raw_rh = 0, raw_from_humidity(self.humidity_pct)
        else:
            raw_t, raw_rh = self._stuck or self._raw_words()
        data = bytearray(word_with_crc(raw_t) + word_with_crc(raw_rh))
        if self.fault == "bad_crc":
            data[2] ^= 0x5A
        return bytes(data) + b"\xff" * max(0, length - len(data))
