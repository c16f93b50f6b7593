"""WitMotion packets: parse, skip debris, and stream through bleak's virtual backend to the sensor."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from drivers.ble.virtual.radio import VirtualRadio
from drivers.wearable import parse_notification, rate_command
from hub.detect.fall.sim import SimWitMotion
from sensors.wearable import WearableSensor


def packet(ax: int, ay: int, az: int) -> bytes:
    return b"\x55\x61" + struct.pack("<9h", ax, ay, az, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(("data", "acc", "skipped"), [
    (packet(0, -2048, 0), [(0.0, -1.0, 0.0)], 0),
    (packet(2048, 0, 32767), [(1.0, 0.0, 16 * 32767 / 32768)], 0),
    (packet(0, 0, -32768) + packet(1024, 0, 0), [(0.0, 0.0, -16.0), (0.5, 0.0, 0.0)], 0),
    (b"\x55\x71" + bytes(18) + packet(0, 2048, 0), [(0.0, 1.0, 0.0)], 20),  # a register reply first
    (packet(0, 2048, 0)[:12], [], 12),  # truncated
    (b"", [], 0),
    (b"\x00\x01" + packet(-2048, 0, 0), [(-1.0, 0.0, 0.0)], 2),
])
def test_parse_notification(data: bytes, acc: list[tuple[float, float, float]], skipped: int) -> None:
    samples, n_skipped = parse_notification(data)
    assert len(samples) == len(acc)
    for sample, expected in zip(samples, acc, strict=True):
        assert sample.acc_g == pytest.approx(expected)
    assert n_skipped == skipped


def test_rate_command() -> None:
    assert rate_command(50) == bytes.fromhex("ffaa030800")
    with pytest.raises(ValueError, match="choose one of"):
        rate_command(33)


def test_streams_through_bleak_virtual_backend() -> None:
    asyncio.run(asyncio.wait_for(_stream(), 20))


async def _stream() -> None:
    radio = VirtualRadio()
    device = radio.add(SimWitMotion("C8:00:00:00:00:01"))
    assert isinstance(device, SimWitMotion)
    device.start_advertising()
    got: list[np.ndarray] = []
    fresh: list[bool] = []

    def on_samples(acc: np.ndarray, new: bool) -> None:
        got.append(acc)
        fresh.append(new)

    sensor = WearableSensor("C8:00:00:00:00:01", 50, on_samples, radio.client_backend,
                            backoff_min_s=0.01, backoff_max_s=0.05)
    task = asyncio.create_task(sensor.run())
    for _ in range(200):
        if device.link is not None and device.link.cccd:
            break
        await asyncio.sleep(0.01)
    assert device.commands == [rate_command(50)]
    await device.stream(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]))
    device.drop_link()  # radio loss: the sensor reconnects and starts a new stream
    for _ in range(200):
        if device.link is not None and device.link.cccd:
            break
        await asyncio.sleep(0.01)
    await device.stream(np.array([[1.0, 0.0, 0.0]]))
    await asyncio.sleep(0.01)
    sensor.close()
    await asyncio.wait_for(task, 5)
    assert np.vstack(got) == pytest.approx(np.array([[0, -1, 0], [0, 0, 1], [1, 0, 0]]), abs=1e-3)
    assert fresh == [True, False, True]
