"""Sensirion SHT3x (SHT30/31/35) humidity and temperature sensor on I2C, single-shot mode.

Command/response as in the datasheet: the host writes a 16-bit command, the sensor measures, then a
read returns 16-bit words each followed by its CRC-8 (see drivers.crc). We use the commands without
clock stretching: while the sensor is still measuring it NACKs the read header, which the kernel
reports as OSError (EREMOTEIO, errno 121). The bus is any object with smbus2's `i2c_rdwr`.

Parsing is pure (`parse_measurement`, `parse_status`); `SHT3x` does the I/O and blocks for the
measurement time, so callers on an event loop run it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.crc import crc8_sensirion
from drivers.errors import ChipDataError

ADDRESS_DEFAULT = 0x44  # ADDR pin low; 0x45 with ADDR high

# Single shot, clock stretching disabled (datasheet table "measurement commands in single shot mode").
MEASURE_COMMANDS = {"high": 0x2400, "medium": 0x240B, "low": 0x2416}
# Maximum measurement durations in seconds for those repeatabilities (datasheet, typ. 12.5/4.5/2.5 ms).
MEASURE_MAX_S = {"high": 0.0155, "medium": 0.0065, "low": 0.0045}
CMD_READ_STATUS = 0xF32D
CMD_CLEAR_STATUS = 0x3041
CMD_SOFT_RESET = 0x30A2
CMD_HEATER_ON = 0x306D
CMD_HEATER_OFF = 0x3066

EREMOTEIO = 121  # the errno Linux i2c-dev gives for a NACK


class Sht3xDataError(ChipDataError):
    """The sensor answered but the bytes are unusable (kind: 'crc' or 'short')."""


@dataclass(frozen=True)
class Sht3xReading:
    temperature_c: float
    humidity_pct: float
    raw_temperature: int
    raw_humidity: int


@dataclass(frozen=True)
class Sht3xStatus:
    raw: int

    @property
    def alert_pending(self) -> bool:
        return bool(self.raw & 0x8000)

    @property
    def heater_on(self) -> bool:
        return bool(self.raw & 0x2000)

    @property
    def reset_detected(self) -> bool:
        return bool(self.raw & 0x0010)

    @property
    def command_failed(self) -> bool:
        return bool(self.raw & 0x0002)

    @property
    def write_crc_failed(self) -> bool:
        return bool(self.raw & 0x0001)


def word_with_crc(value: int) -> bytes:
    """A 16-bit word as the sensor sends it: MSB, LSB, CRC."""
    pair = bytes(((value >> 8) & 0xFF, value & 0xFF))
    return pair + bytes((crc8_sensirion(pair),))


def _words(data: bytes, count: int) -> list[int]:
    if len(data) < 3 * count:
        raise Sht3xDataError("short", f"expected {3 * count} bytes, got {len(data)}: {data.hex()}")
    words = []
    for i in range(count):
        chunk = data[3 * i : 3 * i + 3]
        expected = crc8_sensirion(chunk[:2])
        if chunk[2] != expected:
            raise Sht3xDataError(
                "crc",
                f"CRC mismatch in word {i}: got 0x{chunk[2]:02x}, "
                f"computed 0x{expected:02x} over {chunk[:2].hex()}",
            )
        words.append((chunk[0] << 8) | chunk[1])
    return words


def temperature_from_raw(raw: int) -> float:
    return -45.0 + 175.0 * raw / 65535.0


def humidity_from_raw(raw: int) -> float:
    return 100.0 * raw / 65535.0


def raw_from_temperature(celsius: float) -> int:
    return max(0, min(0xFFFF, round((celsius + 45.0) * 65535.0 / 175.0)))


def raw_from_humidity(percent: float) -> int:
    return max(0, min(0xFFFF, round(percent * 65535.0 / 100.0)))


def parse_measurement(data: bytes) -> Sht3xReading:
    """Six bytes: T MSB, T LSB, CRC, RH MSB, RH LSB, CRC."""
    raw_t, raw_rh = _words(bytes(data), 2)
    return Sht3xReading(temperature_from_raw(raw_t), humidity_from_raw(raw_rh), raw_t, raw_rh)


def parse_status(data: bytes) -> Sht3xStatus:
    return Sht3xStatus(_words(bytes(data), 1)[0])


class SHT3x:
    """One sensor on a bus. `bus` needs `i2c_rdwr(*msgs)` as smbus2.SMBus has."""

    def __init__(
        self,
        bus: Any,
        address: int = ADDRESS_DEFAULT,
        repeatability: str = "high",
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 3,
    ) -> None:
        if repeatability not in MEASURE_COMMANDS:
            raise ValueError(f"repeatability must be one of {sorted(MEASURE_COMMANDS)}")
        self.bus, self.address, self.repeatability = bus, address, repeatability
        self._sleep, self._retries = sleep, retries

    @property
    def part(self) -> str:
        return f"SHT3x@0x{self.address:02x}"

    def _write(self, command: int) -> None:
        from smbus2 import i2c_msg

        self.bus.i2c_rdwr(i2c_msg.write(self.address, [(command >> 8) & 0xFF, command & 0xFF]))

    def _read(self, length: int) -> bytes:
        from smbus2 import i2c_msg

        msg = i2c_msg.read(self.address, length)
        self.bus.i2c_rdwr(msg)
        return bytes(msg)

    def _read_after(self, wait_s: float, length: int) -> bytes:
        """Read, retrying while the sensor NACKs because it is still busy."""
        self._sleep(wait_s)
        for attempt in range(self._retries + 1):
            try:
                return self._read(length)
            except OSError as exc:
                if exc.errno != EREMOTEIO or attempt == self._retries:
                    raise
                self._sleep(wait_s / 2 + 0.001)
        raise AssertionError("unreachable")

    def measure(self) -> Sht3xReading:
        """One single-shot measurement. Raises OSError (NACK, bus) or Sht3xDataError (CRC, short)."""
        self._write(MEASURE_COMMANDS[self.repeatability])
        return parse_measurement(self._read_after(MEASURE_MAX_S[self.repeatability], 6))

    def read_status(self) -> Sht3xStatus:
        self._write(CMD_READ_STATUS)
        return parse_status(self._read_after(0.0, 3))

    def clear_status(self) -> None:
        self._write(CMD_CLEAR_STATUS)

    def soft_reset(self) -> None:
        self._write(CMD_SOFT_RESET)
        self._sleep(0.0015)  # datasheet: soft reset time max 1.5 ms

    def set_heater(self, on: bool) -> None:
        self._write(CMD_HEATER_ON if on else CMD_HEATER_OFF)

    def close(self) -> None:
        """The bus belongs to the caller; nothing of ours to release."""
