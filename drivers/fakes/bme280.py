"""Register model of a Bosch BME280 for the fake I2C bus.

It holds calibration (trimming) registers and, when a forced measurement completes, fills the data
registers with the raw ADC values that the datasheet's compensation turns back into the values set
on the model (found by bisection: each compensation is monotonic in its ADC value).
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from drivers import bme280 as chip
from drivers.fakes.i2c import FakeChip, nack

# A plausible factory trimming set: t1..t3 and p1..p9 are those of the worked example in Bosch's BMP280
# datasheet (tests check the compensation against its figures), h1..h6 values of the kind real parts carry.
SAMPLE_CALIBRATION = chip.Calibration(
    t1=27504,
    t2=26435,
    t3=-1000,
    p1=36477,
    p2=-10685,
    p3=3024,
    p4=2855,
    p5=140,
    p6=-7,
    p7=15500,
    p8=-14600,
    p9=6000,
    h1=75,
    h2=362,
    h3=0,
    h4=313,
    h5=50,
    h6=30,
)


def calibration_bytes(cal: chip.Calibration) -> tuple[bytes, bytes]:
    """Inverse of drivers.bme280.parse_calibration: the 26 + 7 register bytes."""
    block1 = struct.pack(
        "<HhhHhhhhhhhh",
        cal.t1,
        cal.t2,
        cal.t3,
        cal.p1,
        cal.p2,
        cal.p3,
        cal.p4,
        cal.p5,
        cal.p6,
        cal.p7,
        cal.p8,
        cal.p9,
    ) + bytes((0, cal.h1))
    e4 = (cal.h4 >> 4) & 0xFF
    e5 = (cal.h4 & 0x0F) | ((cal.h5 & 0x0F) << 4)
    e6 = (cal.h5 >> 4) & 0xFF
    block2 = struct.pack("<hB", cal.h2, cal.h3) + bytes((e4, e5, e6)) + struct.pack("<b", cal.h6)
    return block1, block2


def _bisect(lo: int, hi: int, value_of: Callable[[int], int], target: int, increasing: bool) -> int:
    """Smallest (increasing) or largest (decreasing) ADC value whose output reaches `target`."""
    while lo < hi:
        mid = (lo + hi) // 2
        below = value_of(mid) < target if increasing else value_of(mid) > target
        if below:
            lo = mid + 1
        else:
            hi = mid
    return lo


def raw_for(
    cal: chip.Calibration, temperature_c: float, humidity_pct: float, pressure_pa: float
) -> chip.RawSample:
    adc_t = _bisect(
        0,
        (1 << 20) - 1,
        lambda a: chip.temperature_centi(chip.t_fine(cal, a)),
        round(temperature_c * 100),
        True,
    )
    fine = chip.t_fine(cal, adc_t)
    adc_h = _bisect(0, 0xFFFF, lambda a: chip.humidity_q10(cal, fine, a), round(humidity_pct * 1024), True)
    adc_p = _bisect(
        0, (1 << 20) - 1, lambda a: -chip.pressure_q8(cal, fine, a), -round(pressure_pa * 256), True
    )
    return chip.RawSample(adc_p, adc_t, adc_h)


class FakeBME280(FakeChip):
    """Faults: 'nack', 'short', 'stuck' (data registers stop updating), 'chip_id' (answers as a BMP280)."""

    FAULTS = ("nack", "short", "stuck", "chip_id")

    def __init__(
        self,
        temperature_c: float = 22.0,
        humidity_pct: float = 45.0,
        pressure_pa: float = 101325.0,
        calibration: chip.Calibration = SAMPLE_CALIBRATION,
        noise_lsb: int = 2,
        now: Callable[[], float] = time.monotonic,
        seed: int = 5,
    ) -> None:
        super().__init__(now)
        self.noise_lsb, self._rng = noise_lsb, random.Random(seed)
        self.temperature_c, self.humidity_pct, self.pressure_pa = temperature_c, humidity_pct, pressure_pa
        self.calibration = calibration
        self.regs = bytearray(256)
        block1, block2 = calibration_bytes(calibration)
        self.regs[chip.REG_CALIB_00 : chip.REG_CALIB_00 + 26] = block1
        self.regs[chip.REG_CALIB_26 : chip.REG_CALIB_26 + 7] = block2
        self.regs[chip.REG_CHIP_ID] = chip.CHIP_ID
        self._reset_data()
        self.pointer = 0
        self._done_at: float | None = None
        self.measurements = 0

    def _reset_data(self) -> None:
        # After reset the data registers read 0x80000 / 0x8000 ("skipped").
        self.regs[0xF7:0xFF] = bytes((0x80, 0, 0, 0x80, 0, 0, 0x80, 0))
        self.regs[chip.REG_CTRL_MEAS] = 0
        self.regs[chip.REG_CTRL_HUM] = 0

    def set_values(
        self,
        temperature_c: float | None = None,
        humidity_pct: float | None = None,
        pressure_pa: float | None = None,
    ) -> None:
        with self.lock:
            if temperature_c is not None:
                self.temperature_c = temperature_c
            if humidity_pct is not None:
                self.humidity_pct = humidity_pct
            if pressure_pa is not None:
                self.pressure_pa = pressure_pa

    def _update(self) -> None:
        if self._done_at is None or self.now() < self._done_at:
            return
        self._done_at = None
        self.regs[chip.REG_CTRL_MEAS] &= 0xFC  # back to sleep mode after a forced measurement
        if self.fault == "stuck":
            return
        raw = raw_for(self.calibration, self.temperature_c, self.humidity_pct, self.pressure_pa)
        if self.noise_lsb:  # real parts jitter in their last bits (the stuck-value check relies on it)
            jitter = self._rng.randint(-self.noise_lsb, self.noise_lsb)
            raw = chip.RawSample(raw.adc_p, max(0, min((1 << 20) - 1, raw.adc_t + jitter)), raw.adc_h)
        self.regs[0xF7:0xFF] = bytes(
            (
                raw.adc_p >> 12 & 0xFF,
                raw.adc_p >> 4 & 0xFF,
                (raw.adc_p & 0xF) << 4,
                raw.adc_t >> 12 & 0xFF,
                raw.adc_t >> 4 & 0xFF,
                (raw.adc_t & 0xF) << 4,
                raw.adc_h >> 8 & 0xFF,
                raw.adc_h & 0xFF,
            )
        )
        self.measurements += 1

    def i2c_write(self, data: bytes) -> None:
        if not data:
            return
        self.pointer = data[0]
        self._update()
        for offset, value in enumerate(data[1:]):  # register-address/data pairs collapse to auto-increment
            register = self.pointer + offset
            if register == chip.REG_RESET:
                if value == chip.RESET_WORD:
                    self._reset_data()
                    self._done_at = None
            elif register in (chip.REG_CTRL_HUM, chip.REG_CONFIG):
                self.regs[register] = value
            elif register == chip.REG_CTRL_MEAS:
                self.regs[register] = value
                if value & 0x03 in (1, 2):
                    os_codes = {0: 0, 1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
                    os_t, os_p = os_codes.get(value >> 5, 16), os_codes.get(value >> 2 & 7, 16)
                    os_h = os_codes.get(self.regs[chip.REG_CTRL_HUM] & 7, 16)
                    self._done_at = self.now() + chip.measure_time_s(os_t, os_p, os_h) * 0.8
            else:
                raise nack(f"BME280 register 0x{register:02x} is read-only")

    def i2c_read(self, length: int) -> bytes:
        self._update()
        out = bytearray()
        for offset in range(length):
            register = (self.pointer + offset) & 0xFF
            if register == chip.REG_STATUS:
                out.append(chip.STATUS_MEASURING if self._done_at is not None else 0)
            elif register == chip.REG_CHIP_ID and self.fault == "chip_id":
                out.append(0x58)
            else:
                out.append(self.regs[register])
        return bytes(out)
