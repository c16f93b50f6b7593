"""Simulated home sensors: chip models on the fake I2C bus, the GPIO chip model's lines, and the `hub sim` verbs.

    hub sim motion [--count N] [--hold S] [--gap S]
    hub sim smoke on|off
    hub sim temperature C [--ramp C_PER_MIN]
    hub sim humidity PCT
    hub sim power lost|restored
    hub sim fault temperature [nack|short|bad_crc|stuck|impossible] | smoke [nack|short|busy] | pir
    hub sim fault clear

Built only when the hardware is simulated, and started before the home sensors so the chips are on
the bus when they first read. The sensor code reads them exactly as it reads real parts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.fakes import FakeADS1115, FakeBME280, FakeSHT3x, FakeSMBus
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimArgumentError, SimParser, not_fitted
from hub.home.smoke_watch import load_baseline, save_baseline
from sensors.climate import temperature_address
from sensors.smoke import volts_for_ratio

CLEAN_AIR_V = 0.62  # a typical MQ-2 module AO in clean air after warm-up
SMOKE_RATIO = 0.2  # Rs/R0 in dense smoke
SMOKE_FAULTS = ("nack", "short", "busy")  # the ADC faults the smoke loop can see


class SimHome:
    name = "sim.home"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.config, self.cfg, self.hardware = config, config.data, hardware
        self.climate_chip: FakeSHT3x | FakeBME280 | None = None
        self.adc: FakeADS1115 | None = None
        self.clean_v = CLEAN_AIR_V
        self._pir_low_at = 0.0
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        world = self.hardware.world
        bus_no = self.cfg["sensors"]["i2c_bus"]
        bus = world.i2c_buses.get(bus_no)
        if bus is None:
            bus = world.i2c_buses[bus_no] = FakeSMBus(bus_no)
        part = self.cfg["temperature"]["part"]
        if part != "none":
            self.climate_chip = FakeSHT3x() if part == "sht3x" else FakeBME280()
            bus.attach(temperature_address(self.cfg), self.climate_chip)
        smoke = self.cfg["smoke"]
        if smoke["kind"] == "analog":
            # The simulated installer recorded the clean-air baseline, as the real one does at installation.
            state_dir = self.config.state_dir
            self.clean_v = smoke["baseline_v"] or load_baseline(state_dir) or CLEAN_AIR_V
            if smoke["baseline_v"] is None and load_baseline(state_dir) is None:
                state_dir.mkdir(parents=True, exist_ok=True)
                save_baseline(state_dir, self.clean_v, ctx.clock.now().isoformat(timespec="seconds"))
            self.adc = FakeADS1115()
            self.adc.set_input(smoke["adc_channel"], self.clean_v * smoke["divider"])
            if smoke["alert_pin"] >= 0:  # ALERT/RDY wired: the ADC model drives the line (open drain)
                alert = smoke["alert_pin"]
                self.adc.on_alert = lambda low: self._drive(alert, not low)
            bus.attach(smoke["adc_address"], self.adc)
        if self.cfg["power"]["fitted"]:
            self._drive(self.cfg["power"]["good_pin"], True)  # the UPS HAT drives power-good high
        for verb, handler in (
            ("motion", self.motion),
            ("smoke", self.smoke),
            ("temperature", self.temperature),
            ("humidity", self.humidity),
            ("power", self.power),
            ("fault", self.fault),
        ):
            ctx.add_sim_command(verb, handler)

    def _drive(self, pin: int, high: bool) -> None:
        self.hardware.world.gpio.drive(pin, int(high))

    def _level(self, pin: int) -> bool:
        return bool(self.hardware.world.gpio.level(pin))

    # --- verbs ------------------------------------------------------------------------------------
    async def motion(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim motion")
        p.add_argument("--count", type=int, default=1)
        p.add_argument("--hold", type=float, default=0.5, help="seconds the PIR output stays high")
        p.add_argument("--gap", type=float, default=0.4, help="seconds low between detections")
        args = p.parse_args(argv)
        if not self.cfg["motion"]["fitted"]:
            raise not_fitted("人体感应 PIR ([motion] fitted = false)")
        if not 1 <= args.count <= 1000 or not 0.3 <= args.hold <= 60 or not 0.3 <= args.gap <= 60:
            raise SimArgumentError("--count 应为 1..1000，--hold 和 --gap 应为 0.3..60 秒 --count 1..1000, --hold and "
                                   "--gap 0.3..60 s (a real PIR holds >= 2 s)")
        pin = self.cfg["motion"]["pin"]
        loop = asyncio.get_running_loop()
        for _ in range(args.count):
            # like a real PIR, low for a while between detections (also across back-to-back commands)
            await asyncio.sleep(max(0.0, self._pir_low_at + args.gap - loop.time()))
            self._drive(pin, True)
            await asyncio.sleep(args.hold)
            self._drive(pin, False)
            self._pir_low_at = loop.time()
        return {"pir_pin": self.cfg["motion"]["pin"], "edges": args.count}

    async def smoke(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim smoke")
        p.add_argument("state", choices=("on", "off"))
        on = p.parse_args(argv).state == "on"
        s = self.cfg["smoke"]
        if s["kind"] == "relay":
            self._drive(s["relay_pin"], on != s["relay_active_low"])
            return {"smoke": on, "relay_pin": s["relay_pin"]}
        if self.adc is None:
            raise not_fitted('烟雾传感器 smoke sensor ([smoke] kind = "none")')
        volts = volts_for_ratio(SMOKE_RATIO, self.clean_v, s["supply_v"]) if on else self.clean_v
        self.adc.set_input(s["adc_channel"], volts * s["divider"])
        return {"smoke": on, "ao_volts": round(volts, 3), "ratio": SMOKE_RATIO if on else 1.0}

    def _climate(self) -> FakeSHT3x | FakeBME280:
        if self.climate_chip is None:
            raise not_fitted('温度传感器 temperature sensor '
                               '([temperature] part = "none")')
        return self.climate_chip

    async def temperature(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim temperature")
        p.add_argument("celsius", type=float)
        p.add_argument("--ramp", type=float, default=0.0, help="°C per minute from now on")
        args = p.parse_args(argv)
        if not -40 <= args.celsius <= 120 or not -30 <= args.ramp <= 30:
            raise SimArgumentError("温度应为 -40..120 °C，--ramp 应为 -30..30 °C/分钟 temperature -40..120 °C, "
                                   "--ramp -30..30 °C/min")
        chip = self._climate()
        if isinstance(chip, FakeSHT3x):
            chip.set_temperature(args.celsius, args.ramp)
        else:
            if args.ramp:
                raise SimArgumentError("--ramp 只适用于 SHT3x needs the SHT3x model; the BME280 model holds a value")
            chip.set_values(temperature_c=args.celsius)
        return {"temperature_c": args.celsius, "ramp_c_per_min": args.ramp}

    async def humidity(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim humidity")
        p.add_argument("percent", type=float)
        percent = p.parse_args(argv).percent
        if not 0 <= percent <= 100:
            raise SimArgumentError("湿度应为 0..100 % humidity 0..100 %")
        chip = self._climate()
        if isinstance(chip, FakeSHT3x):
            chip.set_humidity(percent)
        else:
            chip.set_values(humidity_pct=percent)
        return {"humidity_pct": percent}

    async def power(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim power")
        p.add_argument("state", choices=("lost", "restored", "battery_low", "battery_ok"))
        state = p.parse_args(argv).state
        pw = self.cfg["power"]
        if not pw["fitted"]:
            raise not_fitted("备用电源 UPS (set [power] fitted = true)")
        if state.startswith("battery"):
            if pw["low_battery_pin"] is None:
                raise not_fitted("低电量信号线 low-battery line "
                                   "(set [power] low_battery_pin)")
            self._drive(pw["low_battery_pin"], state != "battery_low")
        else:
            self._drive(pw["good_pin"], state == "restored")
        return {"power": state, "lost_after_s": pw["lost_after_s"]} if state == "lost" else {"power": state}

    async def fault(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim fault")
        p.add_argument("what", choices=("temperature", "smoke", "pir", "clear"))
        p.add_argument("kind", nargs="?", default=None)
        args = p.parse_args(argv)
        debounce = self.cfg["sensors"]["fault_after_s"]
        try:
            if args.what == "clear":
                return self._clear_faults()
            if args.what == "temperature":
                self._climate().set_fault(args.kind or "nack")
                return {"fault": "temperature", "kind": args.kind or "nack", "fault_after_s": debounce}
            if args.what == "smoke":
                return self._smoke_fault(args.kind)
        except ValueError as exc:
            raise SimArgumentError(f"没有这种故障 {exc}") from None
        if not self.cfg["motion"]["fitted"]:
            raise not_fitted("人体感应 PIR ([motion] fitted = false)")
        self._drive(self.cfg["motion"]["pin"], True)  # a PIR stuck high
        return {
            "fault": "pir",
            "kind": "stuck",
            "fault_after_s": self.cfg["motion"]["stuck_active_s"] + debounce,
        }

    def _smoke_fault(self, kind: str | None) -> dict[str, Any]:
        s = self.cfg["smoke"]
        if s["kind"] == "relay":
            if s["trouble_pin"] is None:
                raise ControlError("继电器烟感只能通过故障线报故障 a relay smoke alarm reports faults only on "
                                   "[smoke] trouble_pin")
            self._drive(s["trouble_pin"], False)
            return {"fault": "smoke", "kind": "trouble"}
        if self.adc is None:
            raise not_fitted("烟雾传感器 smoke sensor")
        if kind not in (None, *SMOKE_FAULTS):
            raise SimArgumentError(
                f"没有这种故障 unknown fault {kind!r} for the smoke ADC; one of {', '.join(SMOKE_FAULTS)}"
            )
        self.adc.set_fault(kind or "nack")
        return {
            "fault": "smoke",
            "kind": kind or "nack",
            "fault_after_s": self.cfg["sensors"]["fault_after_s"],
        }

    def _clear_faults(self) -> dict[str, Any]:
        cleared = []
        if self.climate_chip is not None and self.climate_chip.fault:
            self.climate_chip.set_fault(None)
            cleared.append("temperature")
        if self.adc is not None and self.adc.fault:
            self.adc.set_fault(None)
            cleared.append("smoke")
        s = self.cfg["smoke"]
        if s["kind"] == "relay" and s["trouble_pin"] is not None:
            self._drive(s["trouble_pin"], True)
            cleared.append("smoke")
        pir = self.cfg["motion"]["pin"] if self.cfg["motion"]["fitted"] else None
        if pir is not None and self._level(pir):
            self._drive(pir, False)
            cleared.append("pir")
        return {"cleared": sorted(set(cleared)), "clear_after_s": self.cfg["sensors"]["clear_after_s"]}

    async def close(self) -> None:
        self._ctx = None


def build(config: Config, hardware: Hardware) -> SimHome | None:
    return SimHome(config, hardware) if hardware.simulated else None
