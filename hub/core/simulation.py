"""The simulated world behind the hardware seams: a GPIO chip model, fake I2C buses, serial peers, BLE.

Built once by `hub run --simulate`; simulation components (factories that return None unless
`hardware.simulated`) fill it with chip models and register the `hub sim ...` verbs that drive it.
Hub logic never looks at it: it sees only lines, buses and ports. The GPIO lines run the unit's own
code (hub.core.lines over drivers/gpiochip.py) on a model of lgpio (drivers/fakes/gpiochip.py), whose
`drive(pin, level)` is what the `hub sim` verbs do to a pin; gpiozero is never imported here.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import time
from typing import TYPE_CHECKING, Any, NoReturn

from hub.core.context import Hardware
from hub.core.control import NOT_FITTED, ControlError, UsageError
from hub.core.lines import Lines

if TYPE_CHECKING:
    from drivers.ble.virtual.radio import VirtualRadio


def not_fitted(part: str) -> ControlError:
    """A `hub sim` verb for a part this hub's config does not fit (exit 1, not a usage mistake): `part`
    names it and what to set, both languages."""
    return ControlError(f"{NOT_FITTED}: {part}")


class SimArgumentError(UsageError):
    """A `hub sim` verb was given arguments it cannot use; the message says which and how, Mandarin first
    (the CLI exits 2). A part that is not fitted or not ready is a ControlError instead (exit 1)."""


# argparse's messages, and what to put before them: the rest of the CLI speaks Mandarin first.
ARGPARSE_ZH = (("unrecognized arguments", "不认识的参数"), ("the following arguments are required", "缺少参数"),
               ("invalid choice", "没有这个选项"), ("invalid int value", "应为整数"),
               ("invalid float value", "应为数字"), ("expected one argument", "缺少值"),
               ("ambiguous option", "选项不明确"), ("not allowed with argument", "不能同时使用"))


class SimParser(argparse.ArgumentParser):
    """Argument parser for a `hub sim` verb: errors go back to the CLI as a message, never an exit."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        if args is not None and any(a in ("-h", "--help") for a in args):
            raise SimHelp(self.format_help())
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        # The CLI already names the verb ("hub sim press: ..."): the message in both languages, the option
        # meant by a misspelt one, then the usage.
        zh = next((z for en, z in ARGPARSE_ZH if en in message), "参数不对")
        options = [o for o in self._option_string_actions if o.startswith("--")]
        meant = [difflib.get_close_matches(word.split("=")[0], options, n=1) for word in message.split()
                 if word.startswith("--") and word.split("=")[0] not in options]
        hint = "".join(f"; 是不是 did you mean {m[0]}?" for m in meant if m)
        raise SimArgumentError(f"{zh} {message}{hint}\n用法 {self.format_usage().strip()}")


class SimHelp(Exception):  # not an error: `hub sim VERB --help` is answered with its usage
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SimWorld:
    def __init__(self) -> None:
        from drivers.fakes.gpiochip import FakeLgpio

        self.gpio = FakeLgpio()  # the chip model: `world.gpio.drive(pin, level)` is the world outside
        self.i2c_buses: dict[int, Any] = {}  # bus number -> SMBus-like fake with chip models
        self.serial_ports: dict[str, Any] = {}  # device path -> callable(**kw) returning a port
        self.state: dict[str, Any] = {}  # sim components' shared bits (e.g. fault flags)

    async def settled(self, timeout_s: float = 2.0) -> None:
        """Until every driven edge has reached its callback (its debounce period out) and the
        callback's hand-off to the loop has run."""
        end = time.monotonic() + timeout_s
        while self.gpio.busy() and time.monotonic() < end:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)

    def open_i2c(self, bus: int) -> Any:
        try:
            return self.i2c_buses[bus]
        except KeyError:
            raise OSError(6, f"No such device or address: simulated /dev/i2c-{bus} has no fake") from None

    def open_serial(self, port: str, **kwargs: Any) -> Any:
        try:
            return self.serial_ports[port](**kwargs)
        except KeyError:
            raise OSError(2, f"No such file or directory: simulated serial port {port}") from None


def simulated_hardware() -> Hardware:
    from drivers.gpiochip import GpioChip

    world = SimWorld()
    return Hardware(gpio=Lines(GpioChip(world.gpio)), open_i2c=world.open_i2c, open_serial=world.open_serial,
                    simulated=True, world=world)


def real_hardware() -> Hardware:
    """The Pi: GPIO on lgpio where it imports (Pi OS ships python3-lgpio), else on gpiozero's default
    pin factory (other boards); smbus2 and pyserial for buses."""

    def open_i2c(bus: int) -> Any:
        from smbus2 import SMBus

        return SMBus(bus)

    def open_serial(port: str, **kwargs: Any) -> Any:
        import serial

        return serial.Serial(port, **kwargs)

    try:
        chip: Any = _real_chip()
    except Exception as exc:  # no GPIO chip (e.g. a laptop): say so plainly, the hub can't run here
        raise RuntimeError(f"无法访问 GPIO / no GPIO access ({exc}); on a PC use 'hub run --simulate'") from exc
    return Hardware(gpio=Lines(chip), open_i2c=open_i2c, open_serial=open_serial, simulated=False)


def _real_chip() -> Any:
    try:
        import lgpio  # noqa: F401  # is it there?
    except ImportError:
        from drivers.gpiozero_pins import GpiozeroPins

        return GpiozeroPins()
    from drivers.gpiochip import GpioChip

    return GpioChip()


def shared_radio(hardware: Hardware) -> VirtualRadio:
    """The one virtual radio behind the hub's bleak backends: joined if a simulation component already
    put it there (the fall sim's wearable), else created and installed. One air for every peripheral."""
    from drivers.ble.virtual.radio import VirtualRadio  # lazily: bleak loads only in simulation

    radio = getattr(hardware.ble_client_backend, "radio", None)
    if isinstance(radio, VirtualRadio):
        return radio
    radio = VirtualRadio()
    hardware.ble_client_backend = radio.client_backend
    hardware.ble_scanner_backend = radio.scanner_backend
    return radio
