"""Smoke observations from a smoke alarm's relay output on a GPIO, or an MQ-2 sensor through an ADS1115.

MQ-2: the module's AO is the voltage across its load resistor RL, in series with the sensing element
Rs from the supply Vc, so Vout = Vc * RL / (RL + Rs). Smoke lowers Rs. Relative to the clean-air
baseline R0 (recorded at installation) the ratio is independent of RL:
    Rs / R0 = (Vc / Vout - 1) / (Vc / Vbase - 1)
`SmokeLevel` turns that ratio into smoke present / cleared with hysteresis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensors.errors import SensorError, classify


def resistance_ratio(volts: float, baseline_v: float, supply_v: float) -> float:
    """Rs/R0 from the module-side AO voltage and its clean-air baseline."""
    if not 0 < volts < supply_v or not 0 < baseline_v < supply_v:
        raise ValueError(f"AO {volts:.3f} V / baseline {baseline_v:.3f} V must lie inside 0..{supply_v} V")
    return (supply_v / volts - 1.0) / (supply_v / baseline_v - 1.0)


def volts_for_ratio(ratio: float, baseline_v: float, supply_v: float) -> float:
    """Inverse of resistance_ratio: the AO voltage a given Rs/R0 produces (used by the simulation)."""
    return supply_v / (1.0 + ratio * (supply_v / baseline_v - 1.0))


@dataclass(frozen=True)
class AnalogSample:
    volts: float  # module side (ADC volts / divider)
    part: str


COMPARATOR_RATE = 8  # samples/s while the comparator watches: the ADS1115's lowest current


class AnalogSmokeSensor:
    """MQ-2 AO through an ADS1115 single-ended input. `read()` blocks: call it in a thread."""

    def __init__(
        self,
        open_bus: Callable[[], Any],
        address: int,
        channel: int,
        full_scale_v: float,
        divider: float,
        min_v: float,
        max_v: float,
        bus_number: int = 1,
    ) -> None:
        self._open_bus, self.address, self.channel = open_bus, address, channel
        self.full_scale_v, self.divider, self.min_v, self.max_v = full_scale_v, divider, min_v, max_v
        self.part = f"ADS1115@0x{address:02x} AIN{channel} i2c-{bus_number} (MQ-2)"
        self._adc: Any = None
        self.armed = False  # the chip converts continuously with its comparator on (arm())

    def _chip(self) -> Any:
        if self._adc is None:
            from drivers.ads1115 import ADS1115

            self._adc = ADS1115(self._open_bus(), self.address)
        return self._adc

    def arm(self, low_v: float, high_v: float) -> None:
        """Continuous conversions (8/s, the chip's least current) with the comparator: ALERT/RDY low once
        AO (module side) has been above `high_v` for two conversions, released below `low_v`. Blocks."""
        try:
            self._chip().start_comparator(self.channel, self.full_scale_v, COMPARATOR_RATE,
                                          low_v * self.divider, high_v * self.divider)
        except Exception as exc:
            self._adc, self.armed = None, False
            raise classify(exc, self.part) from exc
        self.armed = True

    def read(self) -> AnalogSample:
        """One single-shot reading (it stops the comparator: arm() again after it). Blocks."""
        self.armed = False
        try:
            sample = self._chip().read_single_ended(self.channel, self.full_scale_v, 128)
        except Exception as exc:  # bad bytes or a dead bus must not escape the sensor loop
            self._adc = None
            raise classify(exc, self.part) from exc
        volts = sample.volts / self.divider
        if sample.at_rail or volts >= self.max_v:
            raise SensorError(
                "impossible",
                self.part,
                f"AO {volts:.3f} V at or above {self.max_v} V (shorted to supply or divider missing)",
            )
        if volts < self.min_v:
            raise SensorError(
                "impossible", self.part, f"AO {volts:.3f} V below {self.min_v} V (unplugged or heater dead)"
            )
        return AnalogSample(volts, self.part)

    def close(self) -> None:
        self._adc, self.armed = None, False


class AlertInput:
    """The ADS1115's ALERT/RDY line (open drain, active low) on a GPIO with the internal pull-up.
    `on_change` runs on the GPIO library's thread at each edge."""

    def __init__(self, lines: Any, pin: int, on_change: Callable[[], None]) -> None:
        self.part = f"ADS1115 ALERT/RDY GPIO{pin}"
        self._line = lines.input(pin, pull_up=True, on_change=lambda level: on_change())

    @property
    def asserted(self) -> bool:
        return not self._line.value  # active low

    def close(self) -> None:
        self._line.close()


class SmokeLevel:
    """Smoke when Rs/R0 falls to alarm_ratio, cleared when it recovers to clear_ratio."""

    def __init__(self, alarm_ratio: float, clear_ratio: float) -> None:
        self.alarm_ratio, self.clear_ratio = alarm_ratio, clear_ratio
        self.smoke = False

    def feed(self, ratio: float) -> bool:
        if self.smoke:
            self.smoke = ratio < self.clear_ratio
        else:
            self.smoke = ratio <= self.alarm_ratio
        return self.smoke


class RelaySmokeInput:
    """A smoke alarm's relay (or interconnect) output, and optionally its trouble output, on GPIOs.

    `on_change` and `on_trouble` run on the GPIO library's alert thread; the hub hands them to its loop.
    """

    def __init__(
        self,
        lines: Any,  # hub.core.lines.Lines
        pin: int,
        active_low: bool,
        on_change: Callable[[bool], None],
        trouble_pin: int | None = None,
        on_trouble: Callable[[], None] | None = None,
    ) -> None:
        self.part = f"smoke alarm relay GPIO{pin}"
        self.active_low = active_low
        # Active low: contact to GND with the internal pull-up. Active high: driven line, internal pull-down.
        self._relay = lines.input(pin, pull_up=active_low, on_change=lambda high: on_change(high != active_low))
        self._trouble: Any = None
        if trouble_pin is not None:  # debounced by the hub's supervisor; each edge wakes it (on_trouble)
            changed = None if on_trouble is None else (lambda level: on_trouble())
            self._trouble = lines.input(trouble_pin, pull_up=True, on_change=changed)

    @property
    def smoke(self) -> bool:
        return bool(self._relay.value) != self.active_low

    @property
    def trouble(self) -> bool:
        return bool(self._trouble is not None and not self._trouble.value)

    def close(self) -> None:
        for device in (self._relay, self._trouble):
            if device is not None:
                device.close()


def analog_sensor(s: dict[str, Any], open_bus: Callable[[], Any], bus_no: int) -> AnalogSmokeSensor:
    """The MQ-2/ADS1115 loop as the `[smoke]` section describes it (the watcher and the self-test)."""
    return AnalogSmokeSensor(
        open_bus,
        s["adc_address"],
        s["adc_channel"],
        s["adc_full_scale_v"],
        s["divider"],
        s["min_v"],
        s["max_v"],
        bus_no,
    )
