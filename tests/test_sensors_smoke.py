"""Smoke: MQ-2 resistance ratio maths, hysteresis, the ADS1115 path and the relay input."""

from __future__ import annotations

import pytest
from gpio_support import BACKENDS, gpio_lines
from support import wait_until

from drivers.fakes import FakeADS1115, FakeSMBus
from sensors.errors import SensorError
from sensors.smoke import AnalogSmokeSensor, RelaySmokeInput, SmokeLevel, resistance_ratio, volts_for_ratio


@pytest.mark.parametrize(
    "volts, baseline, supply, ratio",
    [
        (0.62, 0.62, 5.0, 1.0),
        (2.5, 0.5, 5.0, 1.0 / 9.0),  # Rs: 9 RL in clean air, 1 RL now
        (0.25, 0.5, 5.0, 19.0 / 9.0),
    ],
)
def test_resistance_ratio(volts: float, baseline: float, supply: float, ratio: float) -> None:
    assert resistance_ratio(volts, baseline, supply) == pytest.approx(ratio)
    assert volts_for_ratio(ratio, baseline, supply) == pytest.approx(volts)


@pytest.mark.parametrize("volts", [0.0, 5.0, -1.0])
def test_resistance_ratio_rejects_rails(volts: float) -> None:
    with pytest.raises(ValueError):
        resistance_ratio(volts, 0.6, 5.0)


def test_smoke_level_hysteresis() -> None:
    level = SmokeLevel(alarm_ratio=0.5, clear_ratio=0.7)
    assert [level.feed(r) for r in (1.0, 0.51, 0.5, 0.6, 0.69, 0.7, 0.55)] == [
        False,
        False,
        True,
        True,
        True,
        False,
        False,
    ]


def analog(chip: FakeADS1115, **kw: float) -> AnalogSmokeSensor:
    bus = FakeSMBus()
    bus.attach(0x48, chip)
    args = {"full_scale_v": 4.096, "divider": 0.5, "min_v": 0.02, "max_v": 4.95, **kw}
    return AnalogSmokeSensor(lambda: bus, 0x48, 0, **args)  # type: ignore[arg-type]


def test_analog_reads_module_volts_through_divider() -> None:
    chip = FakeADS1115((0.31, 0, 0, 0))
    assert analog(chip).read().volts == pytest.approx(0.62, abs=0.001)


@pytest.mark.parametrize(
    "adc_volts, kind",
    [
        (0.0, "impossible"),  # unplugged: nothing on AO
        (3.6, "impossible"),  # beyond the PGA's full scale: the input is at the rail
        (2.49, "impossible"),  # 4.98 V module side: shorted to the supply
    ],
)
def test_analog_impossible_values(adc_volts: float, kind: str) -> None:
    with pytest.raises(SensorError) as info:
        analog(FakeADS1115((adc_volts, 0, 0, 0))).read()
    assert info.value.kind == kind and "ADS1115@0x48 AIN0" in info.value.part


@pytest.mark.parametrize(
    "fault, kind", [("nack", "no_response"), ("short", "short_read"), ("busy", "timeout")]
)
def test_analog_faults(fault: str, kind: str) -> None:
    chip = FakeADS1115((0.31, 0, 0, 0))
    sensor = analog(chip)
    chip.set_fault(fault)
    with pytest.raises(SensorError) as info:
        sensor.read()
    assert info.value.kind == kind
    chip.set_fault(None)
    assert sensor.read().volts == pytest.approx(0.62, abs=0.001)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("active_low", [True, False])
def test_relay_input_edges(backend: str, active_low: bool) -> None:
    seen: list[bool] = []
    with gpio_lines(backend) as (lines, drive, _):
        relay = RelaySmokeInput(lines, 25, active_low, seen.append, trouble_pin=16)
        assert not relay.smoke and not relay.trouble
        drive(25, 0 if active_low else 1)
        assert wait_until(lambda: seen == [True]) and relay.smoke
        drive(25, 1 if active_low else 0)
        assert wait_until(lambda: seen == [True, False])
        drive(16, 0)
        assert relay.trouble
        relay.close()
        relay.close()  # idempotent
