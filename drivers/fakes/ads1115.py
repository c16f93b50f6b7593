"""Register-accurate model of a TI ADS1115 for the fake I2C bus.

Pointer register, 16-bit big-endian registers, config OS bit (reads 0 while a single-shot conversion
runs, which lasts one data-rate period), MUX and PGA applied to settable input voltages, results
clipped to the full-scale codes as the chip does.

The comparator: Lo_thresh/Hi_thresh (signed codes), traditional or window mode, polarity, latching
(cleared by reading the conversion register) and COMP_QUE (0b11 off: ALERT/RDY released). Every
conversion result is compared; in continuous mode a new input voltage is a new result at once. The
ALERT/RDY line's level goes to `on_alert(low)` when it changes (the simulation drives the GPIO chip
model's line with it). Simplification: the real chip asserts after COMP_QUE conversions (1, 2 or 4 data periods),
the model at the first result beyond the threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from drivers.ads1115 import (
    COMP_LAT,
    COMP_MODE_WINDOW,
    COMP_POL_HIGH,
    COMP_QUE_MASK,
    COMPARATOR_OFF,
    CONFIG_RESET,
    DATA_RATES,
    FULL_SCALE_V,
    MODE_SINGLE,
    OS_BIT,
    REG_CONVERSION,
    to_signed,
)
from drivers.fakes.i2c import FakeChip, nack

# MUX code -> (positive input, negative input or None for GND)
_MUX = {0: (0, 1), 1: (0, 3), 2: (1, 3), 3: (2, 3), 4: (0, None), 5: (1, None), 6: (2, None), 7: (3, None)}


class FakeADS1115(FakeChip):
    """Faults: 'nack', 'short', 'stuck' (conversion register frozen), 'busy' (OS bit never returns to 1)."""

    FAULTS = ("nack", "short", "stuck", "busy")

    def __init__(
        self,
        inputs_v: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
        vdd: float = 3.3,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(now)
        self.inputs_v = list(inputs_v)
        self.vdd = vdd
        self.pointer = 0
        self.registers = {0: 0x0000, 1: CONFIG_RESET & ~OS_BIT, 2: 0x8000, 3: 0x7FFF}
        self._done_at: float | None = None  # a single-shot conversion is running until then
        self.conversions = 0
        self.alert_asserted = False  # the comparator's state (the line is low when asserted, COMP_POL 0)
        self.alert_low = False  # the ALERT/RDY line as the Pi sees it (open drain: released = high)
        self.on_alert: Callable[[bool], None] | None = None

    def set_input(self, channel: int, volts: float) -> None:
        with self.lock:
            self.inputs_v[channel] = volts
            self._update()

    # -- conversion ------------------------------------------------------------------------------
    def _code(self, config: int) -> int:
        pos, neg = _MUX[(config >> 12) & 7]

        # inputs beyond the supply rails are clamped by the ESD diodes
        def clamp(v: float) -> float:
            return max(-0.3, min(self.vdd + 0.3, v))

        volts = clamp(self.inputs_v[pos]) - (clamp(self.inputs_v[neg]) if neg is not None else 0.0)
        full_scale = FULL_SCALE_V[(config >> 9) & 7]
        return max(-32768, min(32767, round(volts / full_scale * 32768)))

    def _update(self) -> None:
        config = self.registers[1]
        if self._done_at is not None and self.now() >= self._done_at and self.fault != "busy":
            self._done_at = None
            self._store(self._code(config))
        if not config & MODE_SINGLE and self.fault != "busy":  # continuous: always a fresh result
            self._store(self._code(config))

    def _store(self, code: int) -> None:
        if self.fault == "stuck":
            return
        self.registers[0] = code & 0xFFFF
        self.conversions += 1
        self._compare()

    def _compare(self) -> None:
        config = self.registers[1]
        if config & COMP_QUE_MASK == COMPARATOR_OFF:
            asserted = False
        else:
            code, low, high = (to_signed(self.registers[r]) for r in (0, 2, 3))
            if config & COMP_MODE_WINDOW:
                beyond = code > high or code < low
                asserted = beyond or (self.alert_asserted and bool(config & COMP_LAT))
            elif code > high:
                asserted = True
            elif code < low:
                asserted = self.alert_asserted and bool(config & COMP_LAT)
            else:
                asserted = self.alert_asserted
        self.alert_asserted = asserted
        self._drive_alert()

    def _drive_alert(self) -> None:
        config = self.registers[1]
        # comparator off: released, the pull-up holds it high
        low = config & COMP_QUE_MASK != COMPARATOR_OFF and self.alert_asserted != bool(config & COMP_POL_HIGH)
        if low != self.alert_low:
            self.alert_low = low
            if self.on_alert is not None:
                self.on_alert(low)

    def _fault_changed(self) -> None:
        if self.fault is None and self._done_at is not None:
            self._done_at = self.now()  # a conversion held by the 'busy' fault finishes now

    # -- the bus side ----------------------------------------------------------------------------
    def i2c_write(self, data: bytes) -> None:
        if not data:
            return
        pointer = data[0]
        if pointer > 3:
            raise nack(f"ADS1115 has no register {pointer}")
        self.pointer = pointer
        if len(data) == 1:
            return
        if len(data) != 3:
            raise nack("ADS1115 registers take exactly two bytes")
        value = data[1] << 8 | data[2]
        if pointer == 0:
            return  # the conversion register is read-only
        if pointer != 1:
            self.registers[pointer] = value
            self._compare()
            return
        self._update()
        self.registers[1] = value & ~OS_BIT
        if value & OS_BIT and value & MODE_SINGLE and self._done_at is None:
            rate = DATA_RATES[(value >> 5) & 7]
            self._done_at = self.now() + 1.0 / rate
        self._update()  # continuous mode starts converting now
        self._compare()

    def i2c_read(self, length: int) -> bytes:
        self._update()
        value = self.registers[self.pointer]
        if self.pointer == REG_CONVERSION and self.registers[1] & COMP_LAT and self.alert_asserted:
            self.alert_asserted = False  # a latched alert is cleared by reading the conversion register
            self._compare()
        if self.pointer == 1:
            idle = self._done_at is None
            value = value | OS_BIT if idle else value & ~OS_BIT
        out = bytes(((value >> 8) & 0xFF, value & 0xFF))
        return (out * ((length + 1) // 2))[:length]  # the chip repeats the register on longer reads
