"""SHT3x: CRC-8, pure parsing from byte tables, and the driver against the register-level fake."""

from __future__ import annotations

import errno

import pytest
from fakes import SleepClock

from drivers.crc import crc8_sensirion
from drivers.fakes import FakeSHT3x, FakeSMBus
from drivers.sht3x import SHT3x, Sht3xDataError, parse_measurement, parse_status, word_with_crc


def crc_bitwise(data: bytes) -> int:
    """Straight from the datasheet's description, one bit at a time (independent of the table)."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) if crc & 0x80 else crc << 1
            crc &= 0xFF
    return crc


@pytest.mark.parametrize(
    "data, crc",
    [
        (b"\xbe\xef", 0x92),  # the datasheet's example
        (b"\x00\x00", 0x81),
        (b"\xff\xff", 0xAC),
        (b"\x66\x66", 0x93),
        (b"\x80\x00", 0xA2),
    ],
)
def test_crc_table(data: bytes, crc: int) -> None:
    assert crc8_sensirion(data) == crc == crc_bitwise(data)


def test_crc_matches_bitwise_for_all_words() -> None:
    for word in range(0, 0x10000, 257):
        pair = bytes((word >> 8, word & 0xFF))
        assert crc8_sensirion(pair) == crc_bitwise(pair)


@pytest.mark.parametrize(
    "hexbytes, celsius, rh",
    [
        ("000081000081", -45.0, 0.0),
        ("ffffacffffac", 130.0, 100.0),
        ("6666938000a2", 25.0, 50.0),
        ("5e1c35beef92", 19.3336, 74.5846),
    ],
)
def test_parse_measurement(hexbytes: str, celsius: float, rh: float) -> None:
    reading = parse_measurement(bytes.fromhex(hexbytes))
    assert reading.temperature_c == pytest.approx(celsius, abs=0.001)
    assert reading.humidity_pct == pytest.approx(rh, abs=0.001)


@pytest.mark.parametrize(
    "hexbytes, kind",
    [
        ("6666948000a2", "crc"),  # first CRC off by one
        ("6666938000a3", "crc"),  # second CRC wrong
        ("6666938000", "short"),
        ("", "short"),
        ("ffffffffffff", "crc"),  # SDA stuck high: all ones never carry a valid CRC
    ],
)
def test_parse_measurement_rejects(hexbytes: str, kind: str) -> None:
    with pytest.raises(Sht3xDataError) as info:
        parse_measurement(bytes.fromhex(hexbytes))
    assert info.value.kind == kind


def test_parse_status_bits() -> None:
    status = parse_status(word_with_crc(0xA010))
    assert status.alert_pending and status.heater_on and status.reset_detected
    assert not status.command_failed and not status.write_crc_failed


def make(temperature: float = 21.5, humidity: float = 40.0) -> tuple[FakeSMBus, FakeSHT3x, SHT3x, SleepClock]:
    clock = SleepClock(100.0)
    bus = FakeSMBus()
    chip = FakeSHT3x(temperature, humidity, noise_lsb=0, now=clock)
    bus.attach(0x44, chip)
    return bus, chip, SHT3x(bus, 0x44, sleep=clock.sleep), clock


def test_measure_reads_back_set_values() -> None:
    _, chip, sensor, _ = make(21.5, 40.0)
    r = sensor.measure()
    assert r.temperature_c == pytest.approx(21.5, abs=0.01)
    assert r.humidity_pct == pytest.approx(40.0, abs=0.01)
    chip.set_temperature(-5.25)
    chip.set_humidity(88.0)
    r = sensor.measure()
    assert (round(r.temperature_c, 2), round(r.humidity_pct, 1)) == (-5.25, 88.0)


def test_ramp_follows_time() -> None:
    _, chip, sensor, clock = make(20.0)
    chip.set_temperature(20.0, ramp_c_per_min=3.0)
    clock.t += 120
    assert sensor.measure().temperature_c == pytest.approx(26.0, abs=0.02)


def test_read_while_measuring_is_nacked() -> None:
    """No clock stretching: the fake NACKs the read header until the conversion time has passed."""
    from smbus2 import i2c_msg

    bus, _, _, clock = make()
    bus.i2c_rdwr(i2c_msg.write(0x44, [0x24, 0x00]))
    msg = i2c_msg.read(0x44, 6)
    with pytest.raises(OSError) as info:
        bus.i2c_rdwr(msg)
    assert info.value.errno == errno.EREMOTEIO
    with pytest.raises(OSError):  # and it refuses new commands while busy
        bus.i2c_rdwr(i2c_msg.write(0x44, [0xF3, 0x2D]))
    clock.t += 0.013
    bus.i2c_rdwr(msg)
    assert len(bytes(msg)) == 6
    with pytest.raises(OSError):  # data is read once; no new measurement, no data
        bus.i2c_rdwr(i2c_msg.read(0x44, 6))


def test_driver_retries_while_busy() -> None:
    _, _, sensor, clock = make(30.0)
    sensor.repeatability = "high"
    waits: list[float] = []

    def short_sleep(s: float) -> None:  # wait too little at first: the driver must retry
        waits.append(s)
        clock.t += s / 2

    sensor._sleep = short_sleep
    assert sensor.measure().temperature_c == pytest.approx(30.0, abs=0.01)
    assert len(waits) >= 2


def test_absent_sensor_is_oserror_121() -> None:
    bus = FakeSMBus()
    with pytest.raises(OSError) as info:
        SHT3x(bus, 0x45, sleep=lambda s: None).measure()
    assert info.value.errno == errno.EREMOTEIO


def test_status_register_lifecycle() -> None:
    _, _, sensor, _ = make()
    assert sensor.read_status().reset_detected  # set at power-up
    sensor.clear_status()
    assert not sensor.read_status().reset_detected
    sensor.set_heater(True)
    assert sensor.read_status().heater_on
    sensor.set_heater(False)
    sensor.soft_reset()
    status = sensor.read_status()
    assert status.reset_detected and not status.heater_on
    with pytest.raises(OSError):
        sensor._write(0x1234)
    assert sensor.read_status().command_failed


@pytest.mark.parametrize(
    "fault, error",
    [
        ("nack", OSError),
        ("bad_crc", Sht3xDataError),
        ("short", Sht3xDataError),
    ],
)
def test_faults_surface_as_driver_errors(fault: str, error: type[Exception]) -> None:
    _, chip, sensor, _ = make()
    chip.set_fault(fault)
    with pytest.raises(error):
        sensor.measure()
    chip.set_fault(None)
    assert sensor.measure().temperature_c == pytest.approx(21.5, abs=0.01)


def test_stuck_and_impossible_faults() -> None:
    _, chip, sensor, _ = make(22.0)
    chip.noise_lsb = 5
    chip.set_fault("stuck")
    raws = {sensor.measure().raw_temperature for _ in range(5)}
    chip.set_temperature(40.0)
    raws.add(sensor.measure().raw_temperature)
    assert len(raws) == 1
    chip.set_fault("impossible")
    assert sensor.measure().temperature_c == -45.0
    with pytest.raises(ValueError):
        chip.set_fault("melted")
