"""Supervision: debounced fault.sensor / fault.cleared with a remedy that names the part and wiring."""

from __future__ import annotations

import errno

import pytest

from drivers.ads1115 import Ads1115Error
from drivers.bme280 import Bme280Error
from drivers.sht3x import Sht3xDataError
from hub.home.supervision import Supervisor, remedy
from sensors.errors import classify


def test_fault_after_continuous_failure_only() -> None:
    sup = Supervisor(fault_after_s=30.0, clear_after_s=30.0)
    assert sup.failure("temperature", "SHT3x@0x44", "no_response", "nack", 0.0) is None
    assert sup.failure("temperature", "SHT3x@0x44", "no_response", "nack", 20.0) is None
    assert sup.success("temperature", 25.0) is None  # one good reading: the run starts over
    assert sup.failure("temperature", "SHT3x@0x44", "crc", "bad crc", 30.0) is None
    change = sup.failure("temperature", "SHT3x@0x44", "crc", "bad crc", 60.0)
    assert change is not None and change.action == "fault" and change.kind == "crc" and change.since == 30.0
    assert sup.failure("temperature", "SHT3x@0x44", "crc", "bad crc", 70.0) is None  # raised once
    assert sup.active() == {"temperature": "crc"}


def test_clear_after_continuous_success_only() -> None:
    sup = Supervisor(fault_after_s=0.0, clear_after_s=30.0)
    assert sup.failure("smoke", "ADS1115@0x48", "no_response", "nack", 0.0) is not None
    assert sup.success("smoke", 10.0) is None
    assert sup.failure("smoke", "ADS1115@0x48", "no_response", "nack", 20.0) is None  # a relapse
    assert sup.success("smoke", 30.0) is None
    assert sup.success("smoke", 50.0) is None
    change = sup.success("smoke", 60.0)
    assert change is not None and change.action == "cleared" and change.component == "smoke"
    assert not sup.faulted("smoke") and sup.active() == {}


def test_components_are_independent() -> None:
    sup = Supervisor(0.0, 0.0)
    assert sup.failure("pir", "PIR GPIO24", "stuck", "high", 0.0) is not None
    assert sup.success("temperature", 0.0) is None
    assert sup.active() == {"pir": "stuck"}


@pytest.mark.parametrize(
    "component, kind, must_mention",
    [
        ("temperature", "no_response", ["SDA=GPIO2", "SCL=GPIO3", "SHT3x 0x44"]),
        ("temperature", "crc", ["1 m", "pull-ups"]),
        ("temperature", "stuck", ["更换", "replace"]),
        ("smoke", "impossible", ["MQ-2", "5 V"]),
        ("smoke", "trouble", ["电池", "battery"]),
        ("pir", "stuck", ["PIR", "GPIO24"]),
        ("power", "weird", ["电源监测", "log"]),
    ],
)
def test_remedies_are_actionable(component: str, kind: str, must_mention: list[str]) -> None:
    where = {"pir": "GPIO24"}.get(component, "SHT3x 0x44, I2C bus 1")
    text = remedy(component, kind, where)
    assert " / " in text  # Mandarin, then English
    for word in must_mention:
        assert word in text


def test_fault_event_data() -> None:
    sup = Supervisor(0.0, 0.0)
    change = sup.failure("temperature", "SHT3x@0x44 i2c-1", "no_response", "x" * 500, 5.0)
    assert change is not None
    data = change.event_data("SHT3x 0x44, I2C bus 1")
    assert data["component"] == "temperature" and data["part"] == "SHT3x@0x44 i2c-1"
    assert len(data["detail"]) == 300 and "温度传感器无响应" in data["remedy"]
    cleared = sup.success("temperature", 6.0)
    assert cleared is not None and "remedy" not in cleared.event_data("")


@pytest.mark.parametrize(
    "exc, kind",
    [
        (OSError(errno.EREMOTEIO, "Remote I/O error"), "no_response"),
        (OSError(errno.ENOENT, "No such file"), "no_response"),
        (OSError(errno.EACCES, "Permission denied"), "error"),
        (Sht3xDataError("crc", "x"), "crc"),
        (Sht3xDataError("short", "x"), "short_read"),
        (Ads1115Error("timeout", "x"), "timeout"),
        (Bme280Error("chip_id", "x"), "wrong_chip"),
        (ZeroDivisionError("division by zero"), "error"),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc, "part").kind == kind
