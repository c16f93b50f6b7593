"""Temperature and humidity readings from an SHT3x or a BME280, with their plausibility checks.

`ClimateSensor.read()` blocks (I2C transfers and the chip's conversion time): call it in a thread.
It returns a `ClimateReading` or raises `SensorError` — never anything else, whatever the bus sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensors.errors import SensorError, classify

PARTS = {"sht3x": "SHT3x", "bme280": "BME280"}


@dataclass(frozen=True)
class ClimateReading:
    temperature_c: float
    humidity_pct: float | None
    raw: tuple[int, ...]  # the chip's raw words, for the stuck-value check
    part: str


class ClimateSensor:
    """One temperature/humidity sensor on a bus opened through `open_bus` (lazily, re-opened on error)."""

    def __init__(
        self,
        open_bus: Callable[[], Any],
        part: str,
        address: int,
        min_c: float = -40.0,
        max_c: float = 125.0,
        bus_number: int = 1,
    ) -> None:
        if part not in PARTS:
            raise ValueError(f"unknown temperature sensor part {part!r}; supported: {', '.join(PARTS)}")
        self._open_bus, self.kind, self.address = open_bus, part, address
        self.min_c, self.max_c = min_c, max_c
        self.part = f"{PARTS[part]}@0x{address:02x} i2c-{bus_number}"
        self._driver: Any = None

    def _ensure(self) -> Any:
        if self._driver is None:
            bus = self._open_bus()
            if self.kind == "sht3x":
                from drivers.sht3x import SHT3x

                self._driver = SHT3x(bus, self.address)
            else:
                from drivers.bme280 import BME280

                self._driver = BME280(bus, self.address)
        return self._driver

    def read(self) -> ClimateReading:
        try:
            driver = self._ensure()
            if self.kind == "sht3x":
                r = driver.measure()
                reading = ClimateReading(
                    r.temperature_c, r.humidity_pct, (r.raw_temperature, r.raw_humidity), self.part
                )
            else:
                b = driver.measure()
                reading = ClimateReading(
                    b.temperature_c, b.humidity_pct, (b.raw.adc_t, b.raw.adc_h), self.part
                )
        except Exception as exc:  # bad bytes or a dead bus must not escape the sensor loop
            raise classify(exc, self.part) from exc
        if not self.min_c <= reading.temperature_c <= self.max_c:
            raise SensorError(
                "impossible",
                self.part,
                f"{reading.temperature_c:.2f} °C is outside {self.min_c:g}..{self.max_c:g} °C",
            )
        if reading.humidity_pct is not None and not 0.0 <= reading.humidity_pct <= 100.0:
            raise SensorError(
                "impossible", self.part, f"humidity {reading.humidity_pct:.1f} % is outside 0..100 %"
            )
        return reading

    def close(self) -> None:
        self._driver = None


class StuckDetector:
    """The same raw value for `stuck_s` seconds: real sensors always jitter in their last bits."""

    def __init__(self, stuck_s: float) -> None:
        self.stuck_s = stuck_s
        self._value: tuple[int, ...] | None = None
        self._since = 0.0

    def feed(self, t: float, raw: tuple[int, ...]) -> bool:
        if raw != self._value:
            self._value, self._since = raw, t
            return False
        return t - self._since >= self.stuck_s

    def reset(self) -> None:
        self._value = None


# The parts' fixed I2C addresses when the config names none (ADDR pin low / SDO to GND).
DEFAULT_ADDRESS = {"sht3x": 0x44, "bme280": 0x76}


def temperature_address(cfg: dict[str, Any]) -> int:
    """The configured address, or the part's default."""
    table = cfg["temperature"]
    return int(table["address"]) if table["address"] is not None else DEFAULT_ADDRESS.get(table["part"], 0)
