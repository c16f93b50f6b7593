"""Self-test of the unit itself: the clock (NTP-synchronised), the SD card (free space, write + fsync
+ read back, read-only remount), the sound card and player, and the Pi's health (CPU temperature,
under-voltage, memory). Host-only checks are skipped in simulation, saying so, rather than reporting
on the machine the simulation happens to run on.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import time
from pathlib import Path

from hub.selftest.model import FAIL, PASS, SKIP, Env, Result
from sensors.system import HealthSampler


async def check_clock(env: Env, owned: bool) -> list[Result]:
    if env.simulated:
        return [Result("clock", "synchronised", SKIP, "simulated: the host clock is not checked")]
    synced = _clock_synchronised()
    year = time.gmtime().tm_year
    ok = synced is not False and year >= 2024
    return [
        Result(
            "clock",
            "synchronised",
            PASS if ok else FAIL,
            f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}, NTP {_yes_no_unknown(synced)}",
            ""
            if ok
            else "时钟未同步：检查网络，确认 systemd-timesyncd 在运行 / clock not synchronised: "
            "check the network and systemd-timesyncd",
        )
    ]


def _yes_no_unknown(flag: bool | None) -> str:
    return "?" if flag is None else "yes" if flag else "no"


def _clock_synchronised() -> bool | None:
    """adjtimex(2) with no changes: TIME_ERROR (5) means the kernel clock is not NTP-synchronised."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex, zero modes = read only
        return int(libc.adjtimex(buf)) != 5
    except (OSError, AttributeError):
        return None


async def check_disk(env: Env, owned: bool) -> list[Result]:
    state = env.config.state_dir
    need = env.cfg["device_health"]["disk_min_free_mb"]

    def probe() -> tuple[int, bool, float]:
        state.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(state).free // 2**20
        readonly = bool(os.statvfs(state).f_flag & os.ST_RDONLY)
        start = time.monotonic()
        if not readonly:
            path = state / f".selftest-{os.getpid()}"
            data = secrets.token_bytes(4096)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            ok = path.read_bytes() == data
            path.unlink()
            if not ok:
                raise OSError("read back differs from what was written")
        return free, readonly, (time.monotonic() - start) * 1000

    try:
        free, readonly, ms = await asyncio.to_thread(probe)
    except OSError as exc:
        return [
            Result(
                "disk",
                "write and read back",
                FAIL,
                f"{state}: {exc}",
                "存储卡写入失败：更换 SD 卡 / the SD card fails writes: replace it",
            )
        ]
    results = [
        Result(
            "disk",
            "free space",
            PASS if free >= need else FAIL,
            f"{free} MB free",
            ""
            if free >= need
            else f"空间不足 (< {need} MB)：清理日志 journalctl --vacuum-size=50M / "
            "low on space: vacuum the journal",
        )
    ]
    if readonly:
        results.append(
            Result(
                "disk",
                "SD writable",
                FAIL,
                "file system read-only",
                "SD 卡已变为只读（损坏迹象）：备份配置并更换 SD 卡 / SD card went read-only (worn out): "
                "back up the config and replace the card",
            )
        )
    else:
        results.append(
            Result(
                "disk",
                "SD write + fsync",
                PASS if ms < 2000 else FAIL,
                f"{ms:.0f} ms",
                ""
                if ms < 2000
                else "SD 卡写入极慢：更换为 A1/A2 等级的卡 / very slow writes: use an A1/A2 class card",
            )
        )
    return results


async def check_audio(env: Env, owned: bool) -> list[Result]:
    if env.simulated:
        return [Result("audio", "sound card", SKIP, "simulated: no sound card")]
    voice = env.cfg["voice"]
    cards = (
        Path("/proc/asound/cards").read_text(errors="replace") if Path("/proc/asound/cards").exists() else ""
    )
    has_card = bool(cards.strip()) and "no soundcards" not in cards
    missing = [cmd for cmd in ("espeak-ng", voice["player"].split()[0]) if shutil.which(cmd) is None]
    if not has_card or missing:
        return [
            Result(
                "audio",
                "sound card and player",
                FAIL,
                "no sound card" if not has_card else f"missing {', '.join(missing)}",
                "没有声卡或播放程序：检查喇叭/USB 声卡，apt-get install "
                "alsa-utils espeak-ng / no sound card or player",
            )
        ]
    first = cards.strip().splitlines()[0].strip()
    return [Result("audio", "sound card and player", PASS, first[:50])]



async def check_device(env: Env, owned: bool) -> list[Result]:
    sampler = env.sampler or HealthSampler(env.config.state_dir)
    health = await asyncio.to_thread(sampler.sample)
    results = []
    hot = env.cfg["device_health"]["cpu_temp_warn_c"]
    if health.cpu_temp_c is not None:
        ok = health.cpu_temp_c < hot
        results.append(
            Result(
                "device",
                "CPU temperature",
                PASS if ok else FAIL,
                f"{health.cpu_temp_c:.1f} °C",
                ""
                if ok
                else "CPU 过热：加散热片，别放在密闭柜里 / too hot: add a heatsink, do not enclose the box",
            )
        )
    if health.throttled is not None:
        now = [f for f in health.throttled if not f.endswith("_occurred")]
        ok = "under_voltage" not in now and "under_voltage_occurred" not in health.throttled
        results.append(
            Result(
                "device",
                "power supply",
                PASS if ok else FAIL,
                ", ".join(health.throttled) or "no throttling",
                ""
                if ok
                else "供电不足：换用 5V 3A 官方电源和短线 / under-voltage: use the official "
                "5 V 3 A supply and a short cable",
            )
        )
    if health.mem_available_mb is not None and health.mem_total_mb:
        ok = health.mem_available_mb >= min(64, health.mem_total_mb // 10)
        results.append(
            Result(
                "device",
                "memory",
                PASS if ok else FAIL,
                f"{health.mem_available_mb} MB free",
                ""
                if ok
                else "内存不足：重启服务 systemctl restart eldercare-hub / low memory: restart the service",
            )
        )
    return results
