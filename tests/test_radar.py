"""MR60FDA1 frame parser: valid frames out, bad checksums / truncation / garbage skipped and counted."""

from __future__ import annotations

import asyncio

import pytest
import serial

from drivers.radar import FALL, MOTION, PRESENCE, RadarParser, checksum, encode
from sensors.radar import RadarObservation, RadarSensor, observe

FALL_FRAME = encode(*FALL, b"\x01")
PRESENT = encode(*PRESENCE, b"\x01")


def test_encode_matches_the_documented_reset_frame() -> None:
    # The vendor's reset command, byte for byte: 53 59 01 02 00 01 0F BF 54 43.
    assert encode(0x01, 0x02, b"\x0f") == bytes.fromhex("5359010200010fbf5443")
    assert checksum(bytes.fromhex("535902a400010f")) == 0x62  # version query frame's checksum


@pytest.mark.parametrize(("stream", "kinds", "stats"), [
    (FALL_FRAME, ["fall"], {"frames": 1, "bad_checksum": 0, "bad_frame": 0, "skipped_bytes": 0}),
    (b"\x00\x11garbage" + PRESENT, ["presence"], {"frames": 1, "skipped_bytes": 9}),
    (FALL_FRAME[:-3] + bytes([FALL_FRAME[-3] ^ 0xFF]) + FALL_FRAME[-2:] + PRESENT, ["presence"],
     {"frames": 1, "bad_checksum": 1}),
    (PRESENT[:7] + FALL_FRAME, ["fall"], {"frames": 1, "bad_frame": 1}),  # truncated, then a good frame
    (b"\x53\x59\x80\x01\xff\xff" + PRESENT, ["presence"], {"frames": 1, "bad_frame": 1}),  # absurd length
    (PRESENT[:-1] + b"\x00" + FALL_FRAME, ["fall"], {"frames": 1, "bad_frame": 1}),  # wrong tail
    (b"\x53" * 5 + b"\x59", [], {"frames": 0}),
    (encode(0x01, 0x01, b"\x0f") + encode(*MOTION, b"\x02"), ["other", "motion"], {"frames": 2}),
])
def test_parser_table(stream: bytes, kinds: list[str], stats: dict[str, int]) -> None:
    parser = RadarParser()
    frames = parser.feed(stream)
    assert [f.kind for f in frames] == kinds
    for key, value in stats.items():
        assert parser.stats.as_dict()[key] == value, key


def test_byte_at_a_time_gives_the_same_frames() -> None:
    stream = b"\xff" + PRESENT + FALL_FRAME[:5] + PRESENT + FALL_FRAME
    parser = RadarParser()
    frames = [f for b in stream for f in parser.feed(bytes([b]))]
    assert [f.kind for f in frames] == ["presence", "presence", "fall"]
    assert parser.stats.bad_frame == 1


def test_random_bytes_never_crash() -> None:
    import random

    rng = random.Random(5)
    parser = RadarParser()
    for _ in range(300):
        parser.feed(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) +
                    (FALL_FRAME if rng.random() < 0.2 else b""))
    assert parser.stats.frames >= 1
    assert parser.pending < 64 + 9


@pytest.mark.parametrize(("frame", "expected"), [
    (FALL_FRAME, RadarObservation("fall", True)),
    (encode(*FALL, b"\x00"), RadarObservation("fall", False)),
    (PRESENT, RadarObservation("presence", True)),
    (encode(*MOTION, b"\x02"), RadarObservation("moving", True, 2)),
    (encode(0x80, 0x03, b"\x05"), RadarObservation("moving", False, 5)),
    (encode(0x01, 0x01, b"\x0f"), None),
])
def test_observations(frame: bytes, expected: RadarObservation | None) -> None:
    assert observe(RadarParser().feed(frame)[0]) == expected


def test_sensor_reads_a_pyserial_loop_port() -> None:
    asyncio.run(asyncio.wait_for(_reads_loop_port(), 20))


async def _reads_loop_port() -> None:
    port = serial.serial_for_url("loop://", timeout=0.05)
    seen: list[RadarObservation] = []
    got = asyncio.Event()

    def on_obs(obs: RadarObservation) -> None:
        seen.append(obs)
        if obs.kind == "fall":
            got.set()

    sensor = RadarSensor(lambda name, **kw: port, "/dev/ttyFAKE", 115200, on_obs)
    task = asyncio.create_task(sensor.run())
    port.write(b"\x00\x01" + PRESENT[:6] + FALL_FRAME)
    await asyncio.wait_for(got.wait(), 5)
    sensor.close()
    sensor.close()  # idempotent
    await asyncio.wait_for(task, 5)
    assert seen == [RadarObservation("fall", True)]
    assert sensor.stats()["bad_frame"] == 1


def test_sensor_survives_a_missing_port() -> None:
    asyncio.run(asyncio.wait_for(_survives_missing_port(), 20))


async def _survives_missing_port() -> None:
    attempts = 0

    def open_serial(name: str, **kw: object) -> object:
        nonlocal attempts
        attempts += 1
        raise OSError(2, f"No such file or directory: {name}")

    sensor = RadarSensor(open_serial, "/dev/ttyNONE", 115200, lambda obs: None, backoff_min_s=0.01,
                         backoff_max_s=0.02)
    task = asyncio.create_task(sensor.run())
    await asyncio.sleep(0.2)
    sensor.close()
    await asyncio.wait_for(task, 5)
    assert attempts >= 2
    assert "No such file" in sensor.stats()["last_error"]
