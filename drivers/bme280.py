"""Bosch BME280 temperature, humidity and pressure sensor on I2C, forced mode.

Register map and the integer compensation formulas follow the datasheet (section "Compensation
formulas", 32-bit temperature/humidity and 64-bit pressure variants). C's `>>` on signed values is an
arithmetic shift, as Python's is; C's `/` truncates toward zero, so `_cdiv` does that.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from drivers.errors import ChipDataError

ADDRESS_DEFAULT = 0x76  # SDO to GND; 0x77 with SDO to VDDIO
CHIP_ID = 0x60

REG_CALIB_00 = 0x88  # 0x88..0xA1: T1..T3, P1..P9, (0xA0 unused), H1
REG_CHIP_ID = 0xD0
REG_RESET = 0xE0
REG_CALIB_26 = 0xE1  # 0xE1..0xE7: H2..H6
REG_CTRL_HUM = 0xF2
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_CONFIG = 0xF5
REG_DATA = 0xF7  # 0xF7..0xFE: press msb/lsb/xlsb, temp msb/lsb/xlsb, hum msb/lsb
RESET_WORD = 0xB6
STATUS_MEASURING = 0x08
MODE_FORCED = 0b01
SKIPPED_20 = 0x80000  # what the data registers hold for a skipped (or never done) measurement
SKIPPED_16 = 0x8000


class Bme280Error(ChipDataError):
    """Unusable answer (kind: 'short', 'chip_id', 'skipped', 'timeout')."""


@dataclass(frozen=True)
class Calibration:
    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int
    h1: int
    h2: int
    h3: int
    h4: int
    h5: int
    h6: int


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise Bme280Error("short", f"{what}: expected {n} bytes, got {len(data)}: {data.hex()}")


def parse_calibration(block1: bytes, block2: bytes) -> Calibration:
    """block1 = 26 bytes from 0x88, block2 = 7 bytes from 0xE1."""
    block1, block2 = bytes(block1), bytes(block2)
    _need(block1, 26, "calibration 0x88..0xA1")
    _need(block2, 7, "calibration 0xE1..0xE7")
    t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack("<HhhHhhhhhhhh", block1[:24])
    h1 = block1[25]
    h2, h3 = struct.unpack("<hB", block2[:3])
    e4, e5, e6 = struct.unpack("<bBb", block2[3:6])  # E4 and E6 carry the sign of H4 and H5
    h4 = (e4 << 4) | (e5 & 0x0F)
    h5 = (e6 << 4) | (e5 >> 4)
    h6 = struct.unpack("<b", block2[6:7])[0]
    return Calibration(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9, h1, h2, h3, h4, h5, h6)


@dataclass(frozen=True)
class RawSample:
    adc_p: int
    adc_t: int
    adc_h: int


def parse_data(data: bytes) -> RawSample:
    data = bytes(data)
    _need(data, 8, "data 0xF7..0xFE")
    adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
    adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
    adc_h = (data[6] << 8) | data[7]
    return RawSample(adc_p, adc_t, adc_h)


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def t_fine(cal: Calibration, adc_t: int) -> int:
    var1 = (((adc_t >> 3) - (cal.t1 << 1)) * cal.t2) >> 11
    var2 = (((((adc_t >> 4) - cal.t1) * ((adc_t >> 4) - cal.t1)) >> 12) * cal.t3) >> 14
    return var1 + var2


def temperature_centi(fine: int) -> int:
    """Temperature in 0.01 °C."""
    return (fine * 5 + 128) >> 8


def humidity_q10(cal: Calibration, fine: int, adc_h: int) -> int:
    """Relative humidity in %RH as Q22.10 (divide by 1024)."""
    v = fine - 76800
    v = ((((adc_h << 14) - (cal.h4 << 20) - (cal.h5 * v)) + 16384) >> 15) * (
        ((((((v * cal.h6) >> 10) * (((v * cal.h3) >> 11) + 32768)) >> 10) + 2097152) * cal.h2 + 8192) >> 14
    )
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * cal.h1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12


def pressure_q8(cal: Calibration, fine: int, adc_p: int) -> int:
    """Pressure in Pa as Q24.8 (divide by 256); 0 if the calibration would divide by zero."""
    var1 = fine - 128000
    var2 = var1 * var1 * cal.p6
    var2 = var2 + ((var1 * cal.p5) << 17)
    var2 = var2 + (cal.p4 << 35)
    var1 = ((var1 * var1 * cal.p3) >> 8) + ((var1 * cal.p2) << 12)
    var1 = (((1 << 47) + var1) * cal.p1) >> 33
    if var1 == 0:
        return 0
    p = 1048576 - adc_p
    p = _cdiv(((p << 31) - var2) * 3125, var1)
    var1 = (cal.p9 * (p >> 13) * (p >> 13)) >> 25
    var2 = (cal.p8 * p) >> 19
    return ((p + var1 + var2) >> 8) + (cal.p7 << 4)


@dataclass(frozen=True)
class Bme280Reading:
    temperature_c: float
    humidity_pct: float
    pressure_pa: float
    raw: RawSample


def compensate(cal: Calibration, raw: RawSample) -> Bme280Reading:
    if raw.adc_t == SKIPPED_20 or raw.adc_h == SKIPPED_16:
        raise Bme280Error("skipped", f"data registers hold the 'skipped' value: {raw}")
    fine = t_fine(cal, raw.adc_t)
    return Bme280Reading(
        temperature_centi(fine) / 100.0,
        humidity_q10(cal, fine, raw.adc_h) / 1024.0,
        pressure_q8(cal, fine, raw.adc_p) / 256.0,
        raw,
    )


def measure_time_s(os_t: int = 1, os_p: int = 1, os_h: int = 1) -> float:
    """Datasheet's maximum measurement time for the oversampling factors (x1, x2, ... x16)."""
    return (1.25 + 2.3 * os_t + (2.3 * os_p + 0.575) + (2.3 * os_h + 0.575)) / 1000.0


class BME280:
    """One sensor. `bus` needs smbus2's read_i2c_block_data / write_byte_data / read_byte_data."""

    _OS_CODE: ClassVar[dict[int, int]] = {1: 1, 2: 2, 4: 3, 8: 4, 16: 5}

    def __init__(
        self,
        bus: Any,
        address: int = ADDRESS_DEFAULT,
        oversampling: int = 1,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 0.2,
    ) -> None:
        if oversampling not in self._OS_CODE:
            raise ValueError(f"oversampling must be one of {sorted(self._OS_CODE)}")
        self.bus, self.address, self.oversampling = bus, address, oversampling
        self._sleep, self._timeout_s = sleep, timeout_s
        self._cal: Calibration | None = None

    @property
    def part(self) -> str:
        return f"BME280@0x{self.address:02x}"

    def _block(self, register: int, length: int) -> bytes:
        return bytes(self.bus.read_i2c_block_data(self.address, register, length))

    def calibration(self) -> Calibration:
        """Check the chip id and read the trimming parameters (cached; re-read after a failure)."""
        if self._cal is None:
            chip = self.bus.read_byte_data(self.address, REG_CHIP_ID)
            if chip != CHIP_ID:
                raise Bme280Error("chip_id", f"chip id 0x{chip:02x}, expected 0x{CHIP_ID:02x} (a BMP280?)")
            self._cal = parse_calibration(self._block(REG_CALIB_00, 26), self._block(REG_CALIB_26, 7))
        return self._cal

    def measure(self) -> Bme280Reading:
        """One forced-mode measurement. Raises OSError (NACK, bus) or Bme280Error."""
        try:
            cal = self.calibration()
            code = self._OS_CODE[self.oversampling]
            self.bus.write_byte_data(self.address, REG_CTRL_HUM, code)  # takes effect on the ctrl_meas write
            self.bus.write_byte_data(self.address, REG_CTRL_MEAS, code << 5 | code << 2 | MODE_FORCED)
            wait = measure_time_s(self.oversampling, self.oversampling, self.oversampling)
            self._sleep(wait)
            waited = wait
            while self.bus.read_byte_data(self.address, REG_STATUS) & STATUS_MEASURING:
                if waited > self._timeout_s:
                    raise Bme280Error("timeout", f"still measuring after {waited:.3f} s")
                self._sleep(0.002)
                waited += 0.002
            return compensate(cal, parse_data(self._block(REG_DATA, 8)))
        except (OSError, Bme280Error):
            self._cal = None  # a swapped or re-powered sensor gets its calibration read again
            raise

    def soft_reset(self) -> None:
        self.bus.write_byte_data(self.address, REG_RESET, RESET_WORD)
        self._cal = None
        self._sleep(0.002)

    def close(self) -> None:
        """The bus belongs to the caller; nothing of ours to release."""
