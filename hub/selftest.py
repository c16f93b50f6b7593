"""Hardware self-test for technicians: automatic checks of every fitted part, and guided checks a person
confirms. Results are rows (component, result, measured value, remedy in plain words).

The checks see the hardware only through `hub.context.Hardware` (the same seams the hub uses), so they
run inside the running hub (which owns the GPIO lines; `hub/selftest_component.py`), in a stopped
hub's place (`hub selftest` opens the hardware itself), and against the simulation. Pins are read, never
claimed: the running hub's devices keep them. Host-only checks (clock, sound card, BLE adapter, modem
with no simulated peer) are skipped in simulation, saying so, rather than reporting the host.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.config import Config
from hub.context import Hardware
from hub.device_health import HealthSampler
from hub.schema_sensors import temperature_address

PASS, FAIL, SKIP = "pass", "fail", "skip"
AUTOMATIC = (
    "temperature",
    "smoke",
    "pir",
    "buttons",
    "power",
    "modem",
    "broker",
    "clock",
    "disk",
    "audio",
    "ble",
    "device",
)
GUIDED = ("buttons", "pir", "smoke", "voice")
COMPONENTS = tuple(dict.fromkeys(AUTOMATIC + GUIDED))
I2C_HINT = "SDA=GPIO2, SCL=GPIO3"


@dataclass
class Result:
    component: str
    check: str
    result: str
    value: str = ""
    remedy: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Env:
    config: Config
    hardware: Hardware
    sampler: HealthSampler | None = None

    @property
    def cfg(self) -> dict[str, Any]:
        return self.config.data

    @property
    def simulated(self) -> bool:
        return self.hardware.simulated


# --- pins ---------------------------------------------------------------------------------------------


def read_pin(env: Env, number: int, pull_up: bool, owned_by_hub: bool) -> bool:
    """The line's level. Inside the running hub the pin is already set up by its device: only read."""
    pin = env.hardware.pin_factory.pin(number)
    if not owned_by_hub:
        pin.function = "input"
        pin.pull = "up" if pull_up else "down"
    return bool(pin.state)


async def level_for(env: Env, number: int, level: bool, seconds: float, pull_up: bool, owned: bool) -> bool:
    """True if the line stays at `level` for the whole time (sampled every 50 ms)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if read_pin(env, number, pull_up, owned) != level:
            return False
        await asyncio.sleep(0.05)
    return True


async def wait_level(
    env: Env, number: int, level: bool, timeout: float, pull_up: bool, owned: bool
) -> float | None:
    """Seconds until the line reaches `level`, or None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if read_pin(env, number, pull_up, owned) == level:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    return None


# --- automatic checks ------------------------------------------------------------------------------

Check = Callable[[Env, bool], Awaitable[list[Result]]]


async def check_temperature(env: Env, owned: bool) -> list[Result]:
    t = env.cfg["temperature"]
    if t["part"] == "none":
        return []
    from sensors.climate import ClimateSensor
    from sensors.errors import SensorError

    bus_no, address = env.cfg["sensors"]["i2c_bus"], temperature_address(env.cfg)
    where = f"{t['part'].upper()} @0x{address:02x} i2c-{bus_no}"
    sensor = ClimateSensor(
        lambda: env.hardware.open_i2c(bus_no), t["part"], address, t["min_c"], t["max_c"], bus_no
    )
    readings = []
    error: SensorError | None = None
    # Several reads: the hub's own sensor loop may share the bus (a collision NACKs one transfer), and
    # an SHT3x's last bits always jitter, so identical raw words every time mean a frozen sensor.
    for _ in range(5):
        try:
            readings.append(await asyncio.to_thread(sensor.read))
            error = None
        except SensorError as exc:
            error = exc
        await asyncio.sleep(0.2)
    sensor.close()
    if not readings:
        assert error is not None
        return [
            Result(
                "temperature",
                "answers on I2C",
                FAIL,
                f"{where}: {error.kind}",
                _sensor_remedy(
                    "温度传感器 temperature sensor", error.kind, f"{I2C_HINT}, 地址 address 0x{address:02x}"
                ),
            )
        ]
    last = readings[-1]
    value = f"{last.temperature_c:.1f} °C" + (
        f", {last.humidity_pct:.0f} %RH" if last.humidity_pct is not None else ""
    )
    if error is not None and len(readings) < 3:
        return [
            Result(
                "temperature",
                "answers on I2C",
                FAIL,
                f"{where}: {value}; {error.kind}",
                _sensor_remedy("温度传感器 temperature sensor", error.kind, I2C_HINT),
            )
        ]
    if t["part"] == "sht3x" and len(readings) >= 4 and len({r.raw for r in readings}) == 1:
        return [
            Result(
                "temperature",
                "reading changes",
                FAIL,
                f"{where}: {value}, raw frozen",
                "温度传感器读数冻结：断电重启传感器，仍不变则更换 / sensor frozen: power-cycle it, "
                "replace if it stays frozen",
            )
        ]
    if not 0.0 <= last.temperature_c <= 50.0 or (
        last.humidity_pct is not None and not 1 <= last.humidity_pct <= 100
    ):
        return [
            Result(
                "temperature",
                "plausible in a home",
                FAIL,
                f"{where}: {value}",
                "读数不合理：检查传感器是否靠近热源/受潮，或更换 / implausible for a room: check it is "
                "away from heaters and dry, else replace",
            )
        ]
    return [Result("temperature", "answers, plausible", PASS, f"{where}: {value}")]


async def check_smoke(env: Env, owned: bool) -> list[Result]:
    s = env.cfg["smoke"]
    if s["kind"] == "none":
        return []
    if s["kind"] == "relay":
        active = read_pin(env, s["relay_pin"], s["relay_active_low"], owned) != s["relay_active_low"]
        results = [
            Result(
                "smoke",
                "relay input",
                FAIL if active else PASS,
                f"GPIO{s['relay_pin']}: {'smoke signalled' if active else 'quiet'}",
                "报警器正在报警或接线反了：通风后重测，检查 relay_active_low / the alarm signals "
                "smoke now, or the contact is wired the other way (relay_active_low)"
                if active
                else "",
            )
        ]
        if s["trouble_pin"] is not None:
            trouble = not read_pin(env, s["trouble_pin"], True, owned)
            results.append(
                Result(
                    "smoke",
                    "trouble contact",
                    FAIL if trouble else PASS,
                    f"GPIO{s['trouble_pin']}: {'fault' if trouble else 'ok'}",
                    "烟雾报警器报故障：更换电池或报警器 / the alarm reports a fault: replace its "
                    "battery or the alarm"
                    if trouble
                    else "",
                )
            )
        return results
    from sensors.errors import SensorError
    from sensors.smoke import AnalogSmokeSensor

    bus_no = env.cfg["sensors"]["i2c_bus"]
    where = f"ADS1115 @0x{s['adc_address']:02x} AIN{s['adc_channel']} i2c-{bus_no}"
    sensor = AnalogSmokeSensor(
        lambda: env.hardware.open_i2c(bus_no),
        s["adc_address"],
        s["adc_channel"],
        s["adc_full_scale_v"],
        s["divider"],
        s["min_v"],
        s["max_v"],
        bus_no,
    )
    sample, error = None, None
    for _ in range(3):
        try:
            sample = await asyncio.to_thread(sensor.read)
            break
        except SensorError as exc:
            error = exc
            await asyncio.sleep(0.2)
    sensor.close()
    if sample is None:
        assert error is not None
        return [
            Result(
                "smoke",
                "MQ-2 via ADS1115",
                FAIL,
                f"{where}: {error.kind}",
                _sensor_remedy(
                    "烟雾传感器 smoke sensor",
                    error.kind,
                    f"{I2C_HINT}, ADC 0x{s['adc_address']:02x}, MQ-2 AO → AIN{s['adc_channel']}",
                ),
            )
        ]
    return [Result("smoke", "MQ-2 via ADS1115", PASS, f"{where}: AO {sample.volts:.2f} V")]


async def check_pir(env: Env, owned: bool) -> list[Result]:
    m = env.cfg["motion"]
    if not m["fitted"]:
        return []
    where = f"GPIO{m['pin']}"
    if read_pin(env, m["pin"], False, owned) and await level_for(env, m["pin"], True, 8.0, False, owned):
        return [
            Result(
                "pir",
                "output idles low",
                FAIL,
                f"{where}: high for 8 s",
                "人体传感器一直触发：请离开传感器视野后重测；仍触发则检查接线或更换 / the motion sensor "
                "stays triggered: step out of its view and re-run; else check wiring or replace",
            )
        ]
    return [
        Result(
            "pir",
            "input readable",
            PASS,
            f"{where}: {'motion' if read_pin(env, m['pin'], False, owned) else 'idle'}",
        )
    ]


async def check_buttons(env: Env, owned: bool) -> list[Result]:
    results = []
    for button in env.cfg["buttons"]:
        pin = button["pin"]
        stuck = not read_pin(env, pin, True, owned) and await level_for(env, pin, False, 2.0, True, owned)
        results.append(
            Result(
                f"button:{pin}",
                f"{button['kind']} button input",
                FAIL if stuck else PASS,
                f"GPIO{pin}: {'pressed for 2 s' if stuck else 'released'}",
                "按钮一直按下或短路：检查按钮和接线 / button held or shorted: check the button and its wires"
                if stuck
                else "",
            )
        )
    return results


async def check_power(env: Env, owned: bool) -> list[Result]:
    p = env.cfg["power"]
    if not p["fitted"]:
        return []
    good = read_pin(env, p["good_pin"], False, owned)
    results = [
        Result(
            "power",
            "mains present",
            PASS if good else FAIL,
            f"GPIO{p['good_pin']}: {'mains ok' if good else 'no mains'}",
            ""
            if good
            else "市电断开：检查电源适配器和 UPS 接线 / no mains: check the adapter and the UPS HAT wiring",
        )
    ]
    if p["low_battery_pin"] is not None:
        low = not read_pin(env, p["low_battery_pin"], True, owned)
        results.append(
            Result(
                "power",
                "backup battery",
                FAIL if low else PASS,
                "low" if low else "ok",
                "备用电池电量低：充电或更换 / backup battery low: charge or replace" if low else "",
            )
        )
    return results


async def check_modem(env: Env, owned: bool) -> list[Result]:
    m = env.cfg["modem"]
    if m["port"] is None:
        return []

    def talk() -> str:
        port = env.hardware.open_serial(m["port"], baudrate=m["baudrate"], timeout=0.5)
        try:
            replies = []
            for command in (b"AT\r", b"AT+CSQ\r"):
                port.reset_input_buffer()
                port.write(command)
                buf, end = b"", time.monotonic() + 2.0
                while time.monotonic() < end and b"OK" not in buf and b"ERROR" not in buf:
                    buf += port.read(64)
                replies.append(buf.decode("ascii", "replace"))
            return "\n".join(replies)
        finally:
            port.close()

    try:
        reply = await asyncio.to_thread(talk)
    except OSError as exc:
        reply = f"({exc.strerror or exc})"
    if "OK" not in reply:
        return [
            Result(
                "modem",
                "answers AT",
                FAIL,
                f"{m['port']}: {reply.strip()[:40] or 'no answer'}",
                "4G 模块无应答：检查 USB 连接和供电 / modem not answering: check its USB cable and power",
            )
        ]
    csq = next((line.split(":")[1].strip() for line in reply.splitlines() if line.startswith("+CSQ:")), "?")
    return [Result("modem", "answers AT", PASS, f"{m['port']}: OK, CSQ {csq}")]


async def check_broker(env: Env, owned: bool) -> list[Result]:
    """Connect as a separate client (never the hub's own id: that would kick the hub off), publish on
    the hub's own topic tree and wait for the message to come back."""
    from hub.selftest_mqtt import round_trip

    mqtt = env.cfg["mqtt"]
    where = f"{mqtt['host']}:{mqtt['port']}"
    try:
        ms = await asyncio.to_thread(
            round_trip, env.config, f"{env.config.topic_base}/selftest/{secrets.token_hex(4)}"
        )
    except (OSError, RuntimeError, TimeoutError) as exc:
        return [
            Result(
                "broker",
                "round trip",
                FAIL,
                f"{where}: {exc}",
                "连不上平台：检查网络/Wi-Fi、broker 地址和账号 / cannot reach the platform: check the "
                "network, [mqtt] host and credentials",
            )
        ]
    return [Result("broker", "round trip", PASS, f"{where}: {ms:.0f} ms")]


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


async def check_ble(env: Env, owned: bool) -> list[Result]:
    if not env.cfg["ble"]["enabled"]:
        return []
    if env.simulated and env.hardware.ble_scanner_backend is None:
        return [Result("ble", "adapter scanning", SKIP, "simulated: no virtual BLE backend in this hub")]
    try:
        from bleak import BleakScanner

        kwargs: dict[str, Any] = {"timeout": 4.0}
        if env.hardware.ble_scanner_backend is not None:
            kwargs["backend"] = env.hardware.ble_scanner_backend
        if env.cfg["ble"]["adapter"]:
            kwargs["bluez"] = {"adapter": env.cfg["ble"]["adapter"]}
        found = await asyncio.wait_for(BleakScanner.discover(**kwargs), 15)
    except Exception as exc:  # bleak raises its own errors, D-Bus errors or OSError for a missing adapter
        return [
            Result(
                "ble",
                "adapter scanning",
                FAIL,
                f"{type(exc).__name__}: {str(exc)[:60]}",
                "蓝牙未开启：rfkill unblock bluetooth; bluetoothctl power on / Bluetooth off or missing",
            )
        ]
    return [Result("ble", "adapter scanning", PASS, f"{len(found)} devices seen")]


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


CHECKS: dict[str, Check] = {
    "temperature": check_temperature,
    "smoke": check_smoke,
    "pir": check_pir,
    "buttons": check_buttons,
    "power": check_power,
    "modem": check_modem,
    "broker": check_broker,
    "clock": check_clock,
    "disk": check_disk,
    "audio": check_audio,
    "ble": check_ble,
    "device": check_device,
}


def _sensor_remedy(what: str, kind: str, wiring: str) -> str:
    if kind in ("no_response", "timeout", "wrong_chip"):
        return f"{what}无响应 not answering: 检查接线 check wiring ({wiring}); i2cdetect -y 1"
    if kind in ("crc", "short_read"):
        return f"{what}数据出错 garbled data: 线松动或太长 loose or long wires ({wiring})"
    if kind == "impossible":
        return f"{what}读数不可能 impossible reading: 更换传感器 replace the sensor"
    return f"{what}故障 fault ({kind}): 检查接线或更换 check wiring or replace"


async def run_automatic(env: Env, only: str | None = None, owned: bool = False) -> list[Result]:
    """Every automatic check (or the one component), each isolated: one failing check never hides others."""
    if only is not None and only not in COMPONENTS:
        raise ValueError(f"unknown component {only!r}; known: {', '.join(COMPONENTS)}")
    results: list[Result] = []
    for name, check in CHECKS.items():
        if only is not None and name != only:
            continue
        try:
            results.extend(await check(env, owned))
        except Exception as exc:  # a broken check is a failed check, never a crashed self-test
            results.append(
                Result(
                    name,
                    "check ran",
                    FAIL,
                    f"{type(exc).__name__}: {exc}"[:80],
                    "自检程序出错：请把此行发给技术支持 / self-test error: report this line",
                )
            )
    return results


# --- guided checks (a person acts, the hub watches) --------------------------------------------------


@dataclass(frozen=True)
class GuidedStep:
    component: str
    check: str
    prompt: str  # what the person is asked to do, Mandarin first
    pin: int | None  # watched line; None for the spoken prompt (the person answers)
    level: bool = False
    pull_up: bool = True


def guided_steps(env: Env, only: str | None = None) -> list[GuidedStep]:
    cfg = env.cfg
    steps = [
        GuidedStep(
            f"button:{b['pin']}",
            f"{b['kind']} button press",
            f"请按呼叫按钮 (GPIO{b['pin']}, {b['kind']}) / press the call button",
            b["pin"],
            False,
            True,
        )
        for b in cfg["buttons"]
    ]
    if cfg["motion"]["fitted"]:
        steps.append(
            GuidedStep(
                "pir",
                "motion seen",
                "请在传感器前挥手 / wave in front of the motion sensor",
                cfg["motion"]["pin"],
                True,
                False,
            )
        )
    smoke = cfg["smoke"]
    if smoke["kind"] == "relay":
        steps.append(
            GuidedStep(
                "smoke",
                "test button",
                "请按烟雾报警器测试键 / press the smoke alarm's test button",
                smoke["relay_pin"],
                not smoke["relay_active_low"],
                smoke["relay_active_low"],
            )
        )
    if cfg["voice"]["enabled"]:
        steps.append(
            GuidedStep("voice", "prompt heard", "你听到提示音了吗？/ did you hear the test prompt?", None)
        )
    if only is not None:
        steps = [s for s in steps if s.component == only or s.component.split(":")[0] == only.rstrip("s")]
    return steps


async def watch_step(env: Env, step: GuidedStep, timeout: float, owned: bool) -> Result:
    assert step.pin is not None
    seconds = await wait_level(env, step.pin, step.level, timeout, step.pull_up, owned)
    if seconds is None:
        return Result(
            step.component,
            step.check,
            FAIL,
            f"GPIO{step.pin}: nothing in {timeout:.0f} s",
            "没有检测到动作：检查接线和部件 / nothing seen: check the wiring and the part",
        )
    return Result(step.component, step.check, PASS, f"GPIO{step.pin}: seen after {seconds:.1f} s")


def heard_result(answer: bool) -> Result:
    return Result(
        "voice",
        "prompt heard",
        PASS if answer else FAIL,
        "heard" if answer else "not heard",
        "" if answer else "检查喇叭连接和音量 (alsamixer) / check the speaker and the volume",
    )


def skipped_guided(steps: list[GuidedStep], why: str) -> list[Result]:
    return [Result(s.component, s.check, SKIP, why) for s in steps]


def summary(results: list[Result]) -> dict[str, Any]:
    failed = [r for r in results if r.result == FAIL]
    return {
        "ok": not failed,
        "passed": sum(r.result == PASS for r in results),
        "failed": len(failed),
        "skipped": sum(r.result == SKIP for r in results),
        "failed_components": sorted({r.component for r in failed}),
        "results": [r.as_dict() for r in results],
    }
