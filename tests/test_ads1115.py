"""ADS1115: config word encoding, register parsing, and single-shot conversions against the fake."""

from __future__ import annotations

import errno

import pytest
from fakes import SleepClock

from drivers.ads1115 import (
    ADS1115,
    REG_CONFIG,
    REG_CONVERSION,
    Ads1115Error,
    Config,
    code_to_volts,
    config_word,
    parse_register,
    pga_code,
    to_signed,
)
from drivers.fakes import FakeADS1115, FakeSMBus


@pytest.mark.parametrize(
    "mux, full_scale, rate, word",
    [
        (0b100, 2.048, 128, 0xC583),  # AIN0-GND, the reset PGA and rate, start: reset value with MUX 100
        (0b100, 4.096, 128, 0xC383),
        (0b111, 6.144, 860, 0xF1E3),
        (0b000, 0.256, 8, 0x8B03),
    ],
)
def test_config_word(mux: int, full_scale: float, rate: int, word: int) -> None:
    assert config_word(mux, pga_code(full_scale), rate) == word
    decoded = Config(word)
    assert (decoded.mux, decoded.full_scale_v, decoded.data_rate, decoded.single_shot) == (
        mux,
        full_scale,
        rate,
        True,
    )


@pytest.mark.parametrize(
    "data, value",
    [
        ([0x7F, 0xFF], 32767),
        ([0x80, 0x00], -32768),
        ([0xFF, 0xFF], -1),
        ([0x00, 0x01], 1),
        ([0x26, 0x90], 9872),
    ],
)
def test_parse_signed(data: list[int], value: int) -> None:
    assert to_signed(parse_register(data)) == value


def test_parse_short() -> None:
    with pytest.raises(Ads1115Error) as info:
        parse_register([0x12])
    assert info.value.kind == "short"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        pga_code(3.3)
    with pytest.raises(ValueError):
        config_word(4, 1, 100)


@pytest.mark.parametrize(
    "code, full_scale, volts",
    [
        (32767, 4.096, 4.096 * 32767 / 32768),
        (-32768, 2.048, -2.048),
        (16384, 0.256, 0.128),
    ],
)
def test_code_to_volts(code: int, full_scale: float, volts: float) -> None:
    assert code_to_volts(code, full_scale) == pytest.approx(volts)


def make(
    inputs: tuple[float, float, float, float] = (1.0, 0.5, 0.25, 3.0),
) -> tuple[FakeSMBus, FakeADS1115, ADS1115, SleepClock]:
    clock = SleepClock()
    bus = FakeSMBus()
    chip = FakeADS1115(inputs, now=clock)
    bus.attach(0x48, chip)
    return bus, chip, ADS1115(bus, 0x48, sleep=clock.sleep), clock


def test_reset_config_reads_idle() -> None:
    _, _, adc, _ = make()
    assert adc.read_register(REG_CONFIG) == 0x8583


def test_single_shot_os_bit() -> None:
    _, _, adc, clock = make()
    adc.write_register(REG_CONFIG, config_word(0b100, pga_code(4.096), 8))  # 8 SPS: 125 ms
    assert not adc.read_config().idle
    clock.t += 0.1
    assert not adc.read_config().idle
    clock.t += 0.03
    assert adc.read_config().idle
    assert to_signed(adc.read_register(REG_CONVERSION)) == round(1.0 / 4.096 * 32768)


@pytest.mark.parametrize("channel, expected", [(0, 1.0), (1, 0.5), (2, 0.25), (3, 3.0)])
def test_single_ended_channels(channel: int, expected: float) -> None:
    _, _, adc, _ = make()
    assert adc.read_single_ended(channel, 4.096).volts == pytest.approx(expected, abs=0.0002)


def test_differential_and_pga_clipping() -> None:
    _, _, adc, _ = make()
    assert adc.convert(0b000, 2.048).volts == pytest.approx(0.5, abs=0.0001)  # AIN0 - AIN1
    assert adc.convert(0b011, 4.096).volts == pytest.approx(-2.75, abs=0.0002)  # AIN2 - AIN3
    clipped = adc.read_single_ended(3, 1.024)
    assert clipped.code == 32767 and clipped.at_rail


def test_busy_fault_times_out() -> None:
    _, chip, adc, _ = make()
    chip.set_fault("busy")
    with pytest.raises(Ads1115Error) as info:
        adc.read_single_ended(0)
    assert info.value.kind == "timeout"


def test_nack_short_and_stuck() -> None:
    _, chip, adc, _ = make()
    chip.set_fault("nack")
    with pytest.raises(OSError) as info:
        adc.read_single_ended(0)
    assert info.value.errno == errno.EREMOTEIO
    chip.set_fault("short")
    with pytest.raises(Ads1115Error):
        adc.read_single_ended(0)
    chip.set_fault(None)
    before = adc.read_single_ended(0).code
    chip.set_fault("stuck")
    chip.set_input(0, 2.0)
    assert adc.read_single_ended(0).code == before
    chip.set_fault(None)
    assert adc.read_single_ended(0).volts == pytest.approx(2.0, abs=0.0002)


def test_conversion_register_is_read_only_and_pointer_checked() -> None:
    bus, _, adc, _ = make()
    bus.write_i2c_block_data(0x48, REG_CONVERSION, [0x12, 0x34])
    assert adc.read_register(REG_CONVERSION) == 0
    with pytest.raises(OSError):
        bus.write_i2c_block_data(0x48, 7, [0, 0])
