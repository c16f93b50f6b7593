"""Device health: parsers on byte-exact samples, the sampler over a fake /sys + /proc tree (rates per
hour from two samples), and the reporter publishing status and a schema-valid telemetry.device."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import Config, validate
from hub.device.health import DeviceHealthReporter
from sensors.system import (
    HealthSampler,
    parse_block_stat_written,
    parse_io_write_bytes,
    parse_meminfo,
    parse_throttled,
    throttle_flags,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "mask", "flags"),
    [
        ("throttled=0x0\n", 0, []),
        (
            "throttled=0x50005\n",
            0x50005,
            ["under_voltage", "throttled", "under_voltage_occurred", "throttled_occurred"],
        ),
        ("50000\n", 0x50000, ["under_voltage_occurred", "throttled_occurred"]),
        ("garbage", None, None),
    ],
)
def test_throttled(text: str, mask: int | None, flags: list[str] | None) -> None:
    assert parse_throttled(text) == mask
    if mask is not None:
        assert throttle_flags(mask) == flags


def test_meminfo_io_and_block_stat() -> None:
    assert parse_meminfo("MemTotal:        948304 kB\nMemAvailable:    512000 kB\nHugePages_Total: 0\n") == {
        "MemTotal": 948304,
        "MemAvailable": 512000,
        "HugePages_Total": 0,
    }
    assert parse_io_write_bytes("rchar: 10\nwchar: 20\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n") == 4096
    assert parse_io_write_bytes("rchar: 1\n") is None
    # deleted before the flush: never reached the card
    assert parse_io_write_bytes("write_bytes: 85860352\ncancelled_write_bytes: 60227584\n") == 25632768
    assert parse_io_write_bytes("write_bytes: x\n") is None
    stat = (
        "    4585     1535   298434     1652    32211    21043  1071568    71584        0    53384    73236\n"
    )
    assert parse_block_stat_written(stat) == 1071568 * 512
    assert parse_block_stat_written("1 2 3") is None


def fake_root(tmp: Path, written_sectors: int, hub_written: int) -> Path:
    root = tmp / "root"
    (root / "sys/class/thermal/thermal_zone0").mkdir(parents=True, exist_ok=True)
    (root / "sys/class/thermal/thermal_zone0/type").write_text("cpu-thermal\n")
    (root / "sys/class/thermal/thermal_zone0/temp").write_text("51540\n")
    fw = root / "sys/devices/platform/soc/soc:firmware"
    fw.mkdir(parents=True, exist_ok=True)
    (fw / "get_throttled").write_text("50000\n")
    (root / "proc/self").mkdir(parents=True, exist_ok=True)
    (root / "proc/meminfo").write_text("MemTotal: 948304 kB\nMemAvailable: 512000 kB\n")
    (root / "proc/uptime").write_text("3600.52 7000.00\n")
    (root / "proc/self/io").write_text(f"write_bytes: {hub_written}\n")
    return root


def test_sampler_over_a_fake_tree(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    root = fake_root(tmp_path, 0, 1000)
    dev = os.stat(state).st_dev
    block = root / f"sys/dev/block/{os.major(dev)}:{os.minor(dev)}"
    block.mkdir(parents=True)
    (block / "stat").write_text("0 0 0 0 0 0 2000 0 0 0 0\n")
    sampler = HealthSampler(state, root=root, vcgencmd=None)
    first = sampler.sample(now=100.0)
    assert first.cpu_temp_c == 51.5 and first.throttled == ["under_voltage_occurred", "throttled_occurred"]
    assert first.mem_total_mb == 926 and first.mem_available_mb == 500 and first.uptime_s == 3600
    assert first.hub_written_bytes_per_h is None  # a rate needs two samples
    (root / "proc/self/io").write_text("write_bytes: 5096\n")
    (block / "stat").write_text("0 0 0 0 0 0 2100 0 0 0 0\n")
    second = sampler.sample(now=100.0 + 1800)  # half an hour later
    assert second.hub_written_bytes_per_h == 8192
    assert second.storage_written_bytes_per_h == 100 * 512 * 2
    assert second.disk_free_mb is not None and second.disk_free_mb > 0


def test_write_rates_are_over_the_last_hour_not_the_last_interval(tmp_path: Path) -> None:
    """A 1 MB checkpoint just before a self-test's sample a minute after the report made the next figure
    60 MB/h (over the 50 MB/h warning) for a hub writing 4 kB an hour: the rate is over the last hour."""
    state = tmp_path / "state"
    state.mkdir()
    root = fake_root(tmp_path, 0, 0)
    sampler = HealthSampler(state, root=root, vcgencmd=None)

    def at(t: float, written: int) -> int | None:
        (root / "proc/self/io").write_text(f"write_bytes: {written}\n")
        return sampler.sample(now=t).hub_written_bytes_per_h

    assert at(0.0, 0) is None
    assert at(900.0, 1000) == 4000  # since start: shorter than an hour
    assert [at(900.0 * k, 1000 * k) for k in (2, 3, 4)] == [4000, 4000, 4000]
    assert at(3660.0, 4000 + 2**20) == round((4000 + 2**20) / (3660 / 3600))  # the burst, over 61 min
    assert at(4500.0, 5000 + 2**20) == 2**20 + 4000  # the window moved on: from the sample at 900 s
    assert at(8200.0, 9000 + 2**20) == round(4000 / (3700 / 3600))  # from 4500 s: the burst has left the window


def test_not_a_pi_gives_none_not_errors(tmp_path: Path) -> None:
    health = HealthSampler(tmp_path, root=tmp_path / "empty", vcgencmd=None).sample()
    assert health.cpu_temp_c is None and health.throttled is None and health.uptime_s is None


class FakeCtx:
    def __init__(self) -> None:
        self.status_fields: dict[str, Any] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, name: str, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def set_status(self, key: str, value: Any) -> None:
        self.status_fields[key] = value

    async def raise_event(self, event_type: str, data: dict[str, Any], ts: Any = None) -> None:
        self.events.append((event_type, data))

    async def status(self) -> dict[str, Any]:
        return {"queue_depth": 7}


def test_reporter_publishes_status_and_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(
        tmp_path / "hub.toml",
        validate({"hub": {"state_dir": str(tmp_path)}, "device_health": {"interval_s": 30}}),
    )
    reporter = DeviceHealthReporter(
        config, HealthSampler(tmp_path, root=fake_root(tmp_path, 0, 0), vcgencmd=None)
    )
    ctx = FakeCtx()

    async def fast_sleep(period: float) -> None:  # the report interval passes at once
        await asyncio.sleep(0)

    # The reporter waits on the shared tick grid (hub.core.ticks.sleep_aligned), not asyncio.sleep: patching
    # the latter (as this test did) left it waiting out two real intervals, 30-60 s of every run.
    monkeypatch.setattr("hub.device.health.sleep_aligned", fast_sleep)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        try:
            await reporter.start(ctx)  # type: ignore[arg-type]
            while len(ctx.events) < 2:
                await asyncio.sleep(0.01)
        finally:
            for task in ctx.tasks:
                task.cancel()
            await asyncio.gather(*ctx.tasks, return_exceptions=True)
        assert loop.is_running()

    asyncio.run(scenario())
    event_type, data = ctx.events[0]
    assert event_type == "telemetry.device" and data["queue_depth"] == 7 and data["cpu_temp_c"] == 51.5
    assert ctx.status_fields["device"]["queue_depth"] == 7
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs/schemas/telemetry.device.json").read_text())
    message = {
        "v": 1,
        "id": "8d7e0f6c-2f41-4c53-9a50-3f2b5b7f0e11",
        "hub": "t",
        "type": "telemetry.device",
        "ts": "2024-01-01T00:00:00.000+08:00",
        "seq": 1,
        "data": data,
    }
    jsonschema.validate(message, schema)


def test_sd_wear_is_judged_on_a_whole_hour_not_on_start_up_writes(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Right after start the write rate is start-up's writes extrapolated (3.1 GB/h at 54 s in the demo):
    `sd_wear` says "measuring" until the rates cover an hour, then "high" above write_warn_mb_per_h (50)."""
    state = tmp_path / "state"
    state.mkdir()
    root = fake_root(tmp_path, 0, 0)
    config = Config(tmp_path / "hub.toml", validate({"hub": {"state_dir": str(state)}}))
    sampler = HealthSampler(state, root=root, vcgencmd=None)
    reporter = DeviceHealthReporter(config, sampler)

    def at(t: float, written: int) -> tuple[str, int | None]:
        (root / "proc/self/io").write_text(f"write_bytes: {written}\n")
        health = sampler.sample(now=t)
        return reporter.judge_wear(health), health.write_window_s

    assert at(0.0, 0) == ("measuring", None)
    assert at(54.0, 47 * 2**20) == ("measuring", 54)  # start-up's 47 MB: 3.1 GB/h, not a verdict
    assert at(1800.0, 48 * 2**20) == ("measuring", 1800)
    assert at(3600.0, 49 * 2**20) == ("ok", 3600)  # 49 MB in the first hour, start-up included
    with caplog.at_level("WARNING", logger="hub.device.health"):
        assert at(7200.0, 110 * 2**20) == ("high", 3600)  # 61 MB in the last hour
    assert "SD 卡写入过多" in caplog.text and "61.0 MB in the last hour" in caplog.text
    assert at(10800.0, 111 * 2**20) == ("ok", 3600)
