"""TI ADS1115 16-bit delta-sigma ADC on I2C, single-shot conversions.

Registers are 16 bits, big-endian on the wire (so we use SMBus block reads of 2 bytes rather than
SMBus word reads, which are little-endian). Pointer: 0 conversion, 1 config, 2 Lo_thresh, 3 Hi_thresh.
Config (datasheet table "Config Register Field Descriptions"):
  15 OS      write 1: start a single conversion; read 0: converting, 1: idle
  14:12 MUX  000..011 differential pairs, 100..111 AINx against GND
  11:9 PGA   full scale ±6.144, 4.096, 2.048, 1.024, 0.512, 0.256 (0.256 for 101..111)
  8 MODE     1 single-shot / power-down, 0 continuous
  7:5 DR     8, 16, 32, 64, 128, 250, 475, 860 samples per second
  4 COMP_MODE 0 traditional (assert above Hi_thresh, release below Lo_thresh), 1 window
  3 COMP_POL  0 ALERT/RDY active low (open drain: the Pi's pull-up holds it high otherwise)
  2 COMP_LAT  0 non-latching
  1:0 COMP_QUE assert after 1, 2 or 4 conversions beyond the threshold; 0b11 disables it (the reset value)
Thresholds (Lo_thresh, Hi_thresh) are signed 16-bit codes like the conversion result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.errors import ChipDataError

ADDRESS_DEFAULT = 0x48  # ADDR to GND; 0x49 VDD, 0x4A SDA, 0x4B SCL

REG_CONVERSION = 0x00
REG_CONFIG = 0x01
REG_LO_THRESH = 0x02
REG_HI_THRESH = 0x03

CONFIG_RESET = 0x8583
OS_BIT = 0x8000
MODE_SINGLE = 0x0100
COMPARATOR_OFF = 0x0003
COMP_QUE_MASK = 0x0003
COMP_MODE_WINDOW = 0x0010
COMP_POL_HIGH = 0x0008
COMP_LAT = 0x0004
QUEUE_CODES = {1: 0b00, 2: 0b01, 4: 0b10}  # conversions beyond the threshold before ALERT asserts

FULL_SCALE_V = {0: 6.144, 1: 4.096, 2: 2.048, 3: 1.024, 4: 0.512, 5: 0.256, 6: 0.256, 7: 0.256}
DATA_RATES = (8, 16, 32, 64, 128, 250, 475, 860)
# MUX code for a single-ended input AINx against GND.
SINGLE_ENDED_MUX = {0: 0b100, 1: 0b101, 2: 0b110, 3: 0b111}


class Ads1115Error(ChipDataError):
    """The chip answered with something unusable (kind: 'short', 'timeout')."""


def pga_code(full_scale_v: float) -> int:
    for code in range(6):
        if abs(FULL_SCALE_V[code] - full_scale_v) < 1e-9:
            return code
    raise ValueError(f"full scale {full_scale_v} V not one of {sorted(set(FULL_SCALE_V.values()))}")


def config_word(mux: int, pga: int, data_rate: int, start: bool = True) -> int:
    if data_rate not in DATA_RATES:
        raise ValueError(f"data rate {data_rate} not one of {DATA_RATES}")
    return (
        (OS_BIT if start else 0)
        | (mux & 7) << 12
        | (pga & 7) << 9
        | MODE_SINGLE
        | DATA_RATES.index(data_rate) << 5
        | COMPARATOR_OFF
    )


def comparator_word(mux: int, pga: int, data_rate: int, queue: int = 2) -> int:
    """Continuous conversions with the traditional comparator, ALERT/RDY active low, not latching:
    ALERT asserts after `queue` conversions above Hi_thresh and releases below Lo_thresh."""
    if queue not in QUEUE_CODES:
        raise ValueError(f"comparator queue {queue} not one of {sorted(QUEUE_CODES)}")
    word = config_word(mux, pga, data_rate, start=False) & ~(MODE_SINGLE | COMP_QUE_MASK)
    return word | QUEUE_CODES[queue]


def volts_to_code(volts: float, full_scale_v: float) -> int:
    """The signed code a voltage converts to (clipped like the chip's result)."""
    return max(-32768, min(32767, round(volts / full_scale_v * 32768)))


@dataclass(frozen=True)
class Config:
    raw: int

    @property
    def idle(self) -> bool:
        return bool(self.raw & OS_BIT)

    @property
    def mux(self) -> int:
        return (self.raw >> 12) & 7

    @property
    def pga(self) -> int:
        return (self.raw >> 9) & 7

    @property
    def single_shot(self) -> bool:
        return bool(self.raw & MODE_SINGLE)

    @property
    def data_rate(self) -> int:
        return DATA_RATES[(self.raw >> 5) & 7]

    @property
    def full_scale_v(self) -> float:
        return FULL_SCALE_V[self.pga]

    @property
    def comparator_on(self) -> bool:
        return self.raw & COMP_QUE_MASK != COMPARATOR_OFF


def parse_register(data: bytes | list[int]) -> int:
    """Two bytes, MSB first."""
    if len(data) < 2:
        raise Ads1115Error("short", f"expected 2 bytes, got {len(data)}: {bytes(data).hex()}")
    return (data[0] << 8) | data[1]


def to_signed(raw: int) -> int:
    return raw - 0x10000 if raw & 0x8000 else raw


def code_to_volts(code: int, full_scale_v: float) -> float:
    return code * full_scale_v / 32768.0


@dataclass(frozen=True)
class Sample:
    code: int  # signed conversion result
    volts: float
    full_scale_v: float

    @property
    def at_rail(self) -> bool:
        return self.code >= 32767 or self.code <= -32768


class ADS1115:
    """One ADC. `bus` needs smbus2's `read_i2c_block_data` and `write_i2c_block_data`."""

    def __init__(
        self,
        bus: Any,
        address: int = ADDRESS_DEFAULT,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 0.5,
    ) -> None:
        self.bus, self.address = bus, address
        self._sleep, self._timeout_s = sleep, timeout_s

    @property
    def part(self) -> str:
        return f"ADS1115@0x{self.address:02x}"

    def read_register(self, register: int) -> int:
        return parse_register(self.bus.read_i2c_block_data(self.address, register, 2))

    def write_register(self, register: int, value: int) -> None:
        self.bus.write_i2c_block_data(self.address, register, [(value >> 8) & 0xFF, value & 0xFF])

    def read_config(self) -> Config:
        return Config(self.read_register(REG_CONFIG))

    def convert(self, mux: int, full_scale_v: float = 4.096, data_rate: int = 128) -> Sample:
        """Start one conversion, wait until OS reads 1 again, return the result."""
        pga = pga_code(full_scale_v)
        self.write_register(REG_CONFIG, config_word(mux, pga, data_rate))
        period = 1.0 / data_rate
        self._sleep(period * 1.1 + 0.0005)  # the conversion takes one data period (+10 % clock tolerance)
        waited = period
        while not self.read_config().idle:
            if waited > self._timeout_s:
                raise Ads1115Error("timeout", f"conversion not done after {waited:.3f} s (OS bit stays 0)")
            self._sleep(period / 4)
            waited += period / 4
        code = to_signed(self.read_register(REG_CONVERSION))
        return Sample(code, code_to_volts(code, full_scale_v), full_scale_v)

    def start_comparator(self, channel: int, full_scale_v: float, data_rate: int, low_v: float,
                         high_v: float, queue: int = 2) -> None:
        """Convert `channel` continuously; ALERT/RDY goes low once the input has been above `high_v` for
        `queue` conversions and is released when it falls below `low_v` (one edge per crossing)."""
        if channel not in SINGLE_ENDED_MUX:
            raise ValueError(f"channel {channel} not 0..3")
        if not low_v < high_v:
            raise ValueError(f"comparator low {low_v} V must be below high {high_v} V")
        self.write_register(REG_LO_THRESH, volts_to_code(low_v, full_scale_v) & 0xFFFF)
        self.write_register(REG_HI_THRESH, volts_to_code(high_v, full_scale_v) & 0xFFFF)
        pga = pga_code(full_scale_v)
        self.write_register(REG_CONFIG, comparator_word(SINGLE_ENDED_MUX[channel], pga, data_rate, queue))
        config = self.read_config()
        if config.single_shot or not config.comparator_on:
            raise Ads1115Error("short", f"config reads back 0x{config.raw:04x}: comparator not armed")

    def latest(self, full_scale_v: float) -> Sample:
        """The last continuous conversion (start_comparator first): no new conversion is started, so the
        comparator keeps running."""
        code = to_signed(self.read_register(REG_CONVERSION))
        return Sample(code, code_to_volts(code, full_scale_v), full_scale_v)

    def read_single_ended(self, channel: int, full_scale_v: float = 4.096, data_rate: int = 128) -> Sample:
        if channel not in SINGLE_ENDED_MUX:
            raise ValueError(f"channel {channel} not 0..3")
        return self.convert(SINGLE_ENDED_MUX[channel], full_scale_v, data_rate)

    def close(self) -> None:
        """The bus belongs to the caller; nothing of ours to release."""
