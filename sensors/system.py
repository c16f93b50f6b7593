"""Readings of the unit itself: CPU temperature and throttling, memory, disk, uptime, storage writes, queue depth.

Units run for years on SD cards, often on a weak phone charger: under-voltage and write wear are the
usual slow killers, so both are reported in `status.device` and in a `telemetry.device` event every
`[device_health] interval_s`. Every reading comes from a file under `root` (tests use a fake tree)
and a missing file gives `None`, never an error: a laptop has no Pi firmware node.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Write rates are over this window (since the first sample when the hub has run less): a rate from the
# last interval alone followed whichever burst it caught (a checkpoint, a log rotation, a self-test
# sampling a minute after the report) and was useless for judging SD wear.
RATE_WINDOW_S = 3600.0

# get_throttled bits (Raspberry Pi firmware): now (0..3) and since boot (16..19).
THROTTLE_BITS = {
    0: "under_voltage",
    1: "freq_capped",
    2: "throttled",
    3: "soft_temp_limit",
    16: "under_voltage_occurred",
    17: "freq_capped_occurred",
    18: "throttled_occurred",
    19: "soft_temp_limit_occurred",
}


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo -> {field: kB}."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[name.strip()] = int(parts[0])
    return out


def parse_throttled(text: str) -> int | None:
    """'throttled=0x50005' (vcgencmd) or '50005' (the firmware sysfs node, hex) -> the bit mask."""
    value = text.strip().rpartition("=")[2].strip()
    try:
        return int(value, 16)
    except ValueError:
        return None


def throttle_flags(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_BITS.items() if mask & (1 << bit)]


def parse_io_write_bytes(text: str) -> int | None:
    """/proc/self/io: `write_bytes` is what this process caused to be sent to storage, less
    `cancelled_write_bytes`: pages of files deleted or truncated before they were flushed (the
    voice cache's temporary WAVs) never reach the card and must not count against its wear."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        written = int(fields["write_bytes"])
    except (KeyError, ValueError):
        return None
    try:
        cancelled = int(fields.get("cancelled_write_bytes", "0"))
    except ValueError:
        cancelled = 0
    return max(0, written - cancelled)


def parse_block_stat_written(text: str) -> int | None:
    """/sys/block/X/stat: field 7 is sectors written, always in 512-byte units."""
    fields = text.split()
    return int(fields[6]) * 512 if len(fields) >= 7 else None


@dataclass
class DeviceHealth:
    cpu_temp_c: float | None
    throttled: list[str] | None  # None: not a Pi (no firmware node and no vcgencmd)
    mem_total_mb: int | None
    mem_available_mb: int | None
    disk_total_mb: int | None
    disk_free_mb: int | None
    uptime_s: int | None
    hub_written_bytes_per_h: int | None  # this process (queue, logs it writes itself), over the last hour
    storage_written_bytes_per_h: int | None  # the whole device holding state_dir (all writers), ditto
    storage_device: str | None
    write_window_s: int | None = None  # how many seconds the two rates above cover (an hour once running)
    queue_depth: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class HealthSampler:
    """Reads the system; keeps the write counters of the last RATE_WINDOW_S to turn them into rates per hour."""

    def __init__(self, state_dir: Path, root: Path = Path("/"), vcgencmd: str | None = "vcgencmd") -> None:
        self.state_dir, self.root = state_dir, root
        self.vcgencmd = shutil.which(vcgencmd) if vcgencmd else None
        # (time, this process's bytes written, the device's) per sample: the oldest is the window's start.
        self._seen: deque[tuple[float, int | None, int | None]] = deque()

    def _read(self, rel: str) -> str | None:
        try:
            return (self.root / rel).read_text(encoding="ascii", errors="replace")
        except OSError:
            return None

    def cpu_temp_c(self) -> float | None:
        zones = sorted((self.root / "sys/class/thermal").glob("thermal_zone*"))
        # Prefer the SoC's zone ("cpu-thermal" on a Pi); else the first one.
        zones.sort(
            key=lambda z: 0 if "cpu" in (self._read(str(z.relative_to(self.root) / "type")) or "") else 1
        )
        for zone in zones:
            text = self._read(str(zone.relative_to(self.root) / "temp"))
            if text and text.strip().lstrip("-").isdigit():
                return round(int(text) / 1000.0, 1)
        return None

    def throttled(self) -> list[str] | None:
        text = self._read("sys/devices/platform/soc/soc:firmware/get_throttled")
        if text is None and self.vcgencmd and self.root == Path("/"):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                text = subprocess.run(
                    [self.vcgencmd, "get_throttled"], capture_output=True, text=True, timeout=5, check=False
                ).stdout
        mask = parse_throttled(text) if text else None
        return None if mask is None else throttle_flags(mask)

    def storage_device(self) -> tuple[str, Path] | None:
        """The block device (partition) holding state_dir, via /sys/dev/block/MAJ:MIN."""
        try:
            dev = os.stat(self.state_dir).st_dev
        except OSError:
            return None
        node = self.root / f"sys/dev/block/{os.major(dev)}:{os.minor(dev)}"
        stat = node / "stat"
        if not stat.exists():
            return None
        return node.resolve().name, stat

    def _rates(self, now: float, hub_written: int | None,
               dev_written: int | None) -> tuple[int | None, int | None, int | None]:
        """Bytes per hour over the last RATE_WINDOW_S (or since the first sample): from the newest sample
        at least that old, so a full window is covered once there is one; and the seconds covered."""
        while len(self._seen) > 1 and self._seen[1][0] <= now - RATE_WINDOW_S:
            self._seen.popleft()
        rates: list[int | None] = [None, None]
        window: int | None = None
        if self._seen and now > self._seen[0][0]:
            start, hours = self._seen[0], (now - self._seen[0][0]) / 3600.0
            window = round(now - start[0])
            for i, current in enumerate((hub_written, dev_written)):
                before = start[i + 1]
                if current is not None and before is not None:
                    rates[i] = round(max(0, current - before) / hours)
        self._seen.append((now, hub_written, dev_written))
        return rates[0], rates[1], window

    def sample(self, now: float | None = None) -> DeviceHealth:
        now = time.monotonic() if now is None else now
        mem = parse_meminfo(self._read("proc/meminfo") or "")
        disk_total: int | None
        disk_free: int | None
        try:
            disk = shutil.disk_usage(self.state_dir)
            disk_total, disk_free = disk.total // 2**20, disk.free // 2**20
        except OSError:
            disk_total = disk_free = None
        uptime_text = self._read("proc/uptime")
        io_text = self._read("proc/self/io")
        hub_written = parse_io_write_bytes(io_text) if io_text else None
        device = self.storage_device()
        dev_text = self._read(str(device[1].relative_to(self.root))) if device else None
        dev_written = parse_block_stat_written(dev_text) if dev_text else None
        hub_rate, dev_rate, window = self._rates(now, hub_written, dev_written)
        return DeviceHealth(
            cpu_temp_c=self.cpu_temp_c(),
            throttled=self.throttled(),
            mem_total_mb=mem["MemTotal"] // 1024 if "MemTotal" in mem else None,
            mem_available_mb=mem["MemAvailable"] // 1024 if "MemAvailable" in mem else None,
            disk_total_mb=disk_total,
            disk_free_mb=disk_free,
            uptime_s=int(float(uptime_text.split()[0])) if uptime_text else None,
            hub_written_bytes_per_h=hub_rate,
            storage_written_bytes_per_h=dev_rate,
            storage_device=device[0] if device else None,
            write_window_s=window,
        )
