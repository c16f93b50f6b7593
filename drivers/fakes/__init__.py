"""Fakes at the bus for simulation and tests: an smbus2-compatible I2C bus and register-level chip models."""

from drivers.fakes.ads1115 import FakeADS1115
from drivers.fakes.bme280 import FakeBME280
from drivers.fakes.i2c import FakeChip, FakeSMBus, nack
from drivers.fakes.sht3x import FakeSHT3x

__all__ = ["FakeADS1115", "FakeBME280", "FakeChip", "FakeSHT3x", "FakeSMBus", "nack"]
