"""Climate sensor coordinator: every bus failure becomes a SensorError, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.fakes import FakeBME280, FakeChip, FakeSHT3x, FakeSMBus
from sensors.climate import ClimateSensor, StuckDetector
from sensors.errors import SensorError


def sensor_on(
    chip: FakeChip, part: str = "sht3x", address: int = 0x44, max_c: float = 125.0
) -> ClimateSensor:
    bus = FakeSMBus()
    bus.attach(address, chip)
    return ClimateSensor(lambda: bus, part, address, max_c=max_c)


@pytest.mark.parametrize(
    "part, chip, address",
    [
        ("sht3x", FakeSHT3x(23.4, 51.0, noise_lsb=0), 0x44),
        ("bme280", FakeBME280(23.4, 51.0, noise_lsb=0), 0x76),
    ],
)
def test_reads_both_parts(part: str, chip: FakeChip, address: int) -> None:
    reading = sensor_on(chip, part, address).read()
    assert reading.temperature_c == pytest.approx(23.4, abs=0.01)
    assert reading.humidity_pct == pytest.approx(51.0, abs=0.05)
    assert reading.part.endswith(f"@0x{address:02x} i2c-1")


@pytest.mark.parametrize(
    "fault, kind",
    [
        ("nack", "no_response"),
        ("bad_crc", "crc"),
        ("short", "short_read"),
        ("impossible", "impossible"),
    ],
)
def test_sht3x_faults_classified(fault: str, kind: str) -> None:
    chip = FakeSHT3x()
    sensor = sensor_on(chip)
    chip.set_fault(fault)
    with pytest.raises(SensorError) as info:
        sensor.read()
    assert info.value.kind == kind and "SHT3x@0x44" in info.value.part
    chip.set_fault(None)
    assert sensor.read().temperature_c == pytest.approx(22.0, abs=0.1)


def test_bme280_wrong_chip_and_absent() -> None:
    chip = FakeBME280()
    sensor = sensor_on(chip, "bme280", 0x76)
    chip.set_fault("chip_id")
    with pytest.raises(SensorError) as info:
        sensor.read()
    assert info.value.kind == "wrong_chip"
    absent = ClimateSensor(lambda: FakeSMBus(), "bme280", 0x77)
    with pytest.raises(SensorError) as info:
        absent.read()
    assert info.value.kind == "no_response"


def test_bus_that_cannot_open() -> None:
    def no_bus() -> FakeSMBus:
        raise OSError(2, "No such file or directory: /dev/i2c-1")

    with pytest.raises(SensorError) as info:
        ClimateSensor(no_bus, "sht3x", 0x44).read()
    assert info.value.kind == "no_response"


def test_plausible_range_from_config() -> None:
    chip = FakeSHT3x(61.0)
    with pytest.raises(SensorError) as info:
        sensor_on(chip, max_c=60.0).read()
    assert info.value.kind == "impossible"


class Garbage(FakeChip):
    """A chip answering with arbitrary bytes (or lengths, or errors): what a broken bus can produce."""

    def __init__(self, replies: list[bytes], errors: list[bool]) -> None:
        super().__init__()
        self.replies, self.errors = replies, errors
        self.i = 0

    def i2c_write(self, data: bytes) -> None:
        if self.errors[self.i % len(self.errors)]:
            raise OSError(121, "Remote I/O error")

    def i2c_read(self, length: int) -> bytes:
        reply = self.replies[self.i % len(self.replies)]
        self.i += 1
        return reply


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=1, max_size=4),
    st.sampled_from(["sht3x", "bme280"]),
)
def test_bad_bytes_never_escape(replies: list[bytes], errors: list[bool], part: str) -> None:
    sensor = sensor_on(Garbage(replies, errors), part, 0x44)
    sensor_driver_sleep_free(sensor)
    for _ in range(3):
        try:
            reading = sensor.read()
        except SensorError as exc:
            assert exc.kind in {
                "no_response",
                "crc",
                "short_read",
                "impossible",
                "timeout",
                "wrong_chip",
                "error",
            }
        else:
            assert -40.0 <= reading.temperature_c <= 125.0


def sensor_driver_sleep_free(sensor: ClimateSensor) -> None:
    """Build the driver now and make its waits instant (the garbage chip never finishes anything)."""
    try:
        driver = sensor._ensure()
    except SensorError:
        return
    driver._sleep = lambda s: None


def test_stuck_detector() -> None:
    stuck = StuckDetector(3600.0)
    assert not stuck.feed(0.0, (100, 200))
    assert not stuck.feed(3599.0, (100, 200))
    assert stuck.feed(3600.0, (100, 200))
    assert not stuck.feed(3610.0, (101, 200))  # one LSB of jitter is life
    assert not stuck.feed(7000.0, (101, 200))
    assert stuck.feed(7210.0, (101, 200))
