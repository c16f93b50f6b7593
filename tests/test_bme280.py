"""BME280: calibration parsing, the datasheet's integer compensation, and the driver against the fake."""

from __future__ import annotations

import pytest
from fakes import SleepClock

from drivers import bme280 as chip
from drivers.bme280 import (
    BME280,
    Bme280Error,
    Calibration,
    RawSample,
    compensate,
    parse_calibration,
    parse_data,
)
from drivers.fakes import FakeBME280, FakeSMBus
from drivers.fakes.bme280 import SAMPLE_CALIBRATION, calibration_bytes

# The fake's trimming set carries the t/p values of the worked example in Bosch's BMP280 datasheet (same
# temperature/pressure formulas as the BME280); the figures asserted below are the datasheet's own.
EXAMPLE = SAMPLE_CALIBRATION


def test_datasheet_worked_example() -> None:
    fine = chip.t_fine(EXAMPLE, 519888)
    assert fine == 128422
    assert chip.temperature_centi(fine) == 2508
    assert chip.pressure_q8(EXAMPLE, fine, 415148) / 256 == pytest.approx(100653.27, abs=0.05)


def float_reference(cal: Calibration, raw: RawSample) -> tuple[float, float, float]:
    """The datasheet's double-precision formulas, written independently of the integer ones."""
    var1 = (raw.adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    var2 = (raw.adc_t / 131072.0 - cal.t1 / 8192.0) ** 2 * cal.t3
    fine = var1 + var2
    temperature = fine / 5120.0
    h = fine - 76800.0
    h = (raw.adc_h - (cal.h4 * 64.0 + cal.h5 / 16384.0 * h)) * (
        cal.h2 / 65536.0 * (1.0 + cal.h6 / 67108864.0 * h * (1.0 + cal.h3 / 67108864.0 * h))
    )
    humidity = min(100.0, max(0.0, h * (1.0 - cal.h1 * h / 524288.0)))
    v1 = fine / 2.0 - 64000.0
    v2 = v1 * v1 * cal.p6 / 32768.0 + v1 * cal.p5 * 2.0
    v2 = v2 / 4.0 + cal.p4 * 65536.0
    v1 = (cal.p3 * v1 * v1 / 524288.0 + cal.p2 * v1) / 524288.0
    v1 = (1.0 + v1 / 32768.0) * cal.p1
    p = 1048576.0 - raw.adc_p
    p = (p - v2 / 4096.0) * 6250.0 / v1
    p = p + (cal.p9 * p * p / 2147483648.0 + p * cal.p8 / 32768.0 + cal.p7) / 16.0
    return temperature, humidity, p


@pytest.mark.parametrize(
    "adc_t, adc_h, adc_p",
    [
        (519888, 30000, 415148),
        (480000, 25000, 430000),
        (560000, 36000, 390000),
        (500000, 20000, 420000),
    ],
)
def test_integer_matches_float_formulas(adc_t: int, adc_h: int, adc_p: int) -> None:
    raw = RawSample(adc_p, adc_t, adc_h)
    reading = compensate(SAMPLE_CALIBRATION, raw)
    temperature, humidity, pressure = float_reference(SAMPLE_CALIBRATION, raw)
    assert reading.temperature_c == pytest.approx(temperature, abs=0.01)
    assert reading.humidity_pct == pytest.approx(humidity, abs=0.05)
    assert reading.pressure_pa == pytest.approx(pressure, abs=2.0)


@pytest.mark.parametrize("h4, h5", [(313, 50), (-300, -7), (2047, -2048), (-1, 1)])
def test_calibration_round_trip_with_signed_nibbles(h4: int, h5: int) -> None:
    cal = Calibration(**{**SAMPLE_CALIBRATION.__dict__, "h4": h4, "h5": h5})
    assert parse_calibration(*calibration_bytes(cal)) == cal


def test_parse_data_table() -> None:
    raw = parse_data(bytes.fromhex("655a c0 7e ed 00 75 30"))
    assert raw == RawSample(adc_p=0x655AC, adc_t=0x7EED0, adc_h=0x7530)


@pytest.mark.parametrize("block1, block2", [(bytes(25), bytes(7)), (bytes(26), bytes(6))])
def test_short_blocks_rejected(block1: bytes, block2: bytes) -> None:
    with pytest.raises(Bme280Error) as info:
        parse_calibration(block1, block2)
    assert info.value.kind == "short"
    with pytest.raises(Bme280Error):
        parse_data(bytes(7))


def test_skipped_values_rejected() -> None:
    with pytest.raises(Bme280Error) as info:
        compensate(SAMPLE_CALIBRATION, parse_data(bytes.fromhex("8000008000008000")))
    assert info.value.kind == "skipped"


def make(
    temperature_c: float = 22.0, humidity_pct: float = 45.0, pressure_pa: float = 101325.0
) -> tuple[FakeBME280, BME280]:
    clock = SleepClock()
    bus = FakeSMBus()
    fake = FakeBME280(temperature_c, humidity_pct, pressure_pa, noise_lsb=0, now=clock)
    bus.attach(0x76, fake)
    return fake, BME280(bus, 0x76, sleep=clock.sleep)


@pytest.mark.parametrize(
    "temperature, humidity, pressure",
    [
        (22.0, 45.0, 101325.0),
        (36.5, 80.0, 99000.0),
        (-5.0, 20.0, 103000.0),
    ],
)
def test_driver_reads_back_set_values(temperature: float, humidity: float, pressure: float) -> None:
    _, sensor = make(temperature_c=temperature, humidity_pct=humidity, pressure_pa=pressure)
    r = sensor.measure()
    assert r.temperature_c == pytest.approx(temperature, abs=0.006)
    assert r.humidity_pct == pytest.approx(humidity, abs=0.01)
    assert r.pressure_pa == pytest.approx(pressure, abs=1.0)


def test_fake_faults() -> None:
    fake, sensor = make()
    fake.set_fault("chip_id")
    with pytest.raises(Bme280Error) as info:
        sensor.measure()
    assert info.value.kind == "chip_id"
    fake.set_fault("nack")
    with pytest.raises(OSError):
        sensor.measure()
    fake.set_fault("short")  # a one-byte register read cut short is an I/O error; longer ones are Bme280Error
    with pytest.raises((OSError, Bme280Error)):
        sensor.measure()
    fake.set_fault(None)
    first = sensor.measure()
    fake.set_fault("stuck")
    fake.set_values(temperature_c=30.0)
    assert sensor.measure().raw == first.raw
    fake.set_fault(None)
    assert sensor.measure().temperature_c == pytest.approx(30.0, abs=0.006)
