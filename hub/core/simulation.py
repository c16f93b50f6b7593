"""The simulated world behind the hardware seams: mock GPIO pins, fake I2C buses, serial peers, BLE.

Built once by `hub run --simulate`; simulation components (factories that return None unless
`hardware.simulated`) fill it with chip models and register the `hub sim ...` verbs that drive it.
Hub logic never looks at it: it sees only pins, buses and ports.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, NoReturn

from hub.core.context import Hardware

if TYPE_CHECKING:
    from drivers.ble.virtual.radio import VirtualRadio


class SimArgumentError(ValueError):
    """A `hub sim` verb was given arguments it cannot use; the message says which and how."""


class SimParser(argparse.ArgumentParser):
    """Argument parser for a `hub sim` verb: errors go back to the CLI as a message, never an exit."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        if args is not None and any(a in ("-h", "--help") for a in args):
            raise SimHelp(self.format_help())
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        # The CLI already names the verb ("hub sim temperature: ..."): the message, then the usage.
        raise SimArgumentError(f"{message}\n{self.format_usage().strip()}")


class SimHelp(Exception):  # not an error: `hub sim VERB --help` is answered with its usage
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SimWorld:
    def __init__(self) -> None:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        self.pin_factory = MockFactory(pin_class=MockPWMPin)
        self.i2c_buses: dict[int, Any] = {}  # bus number -> SMBus-like fake with chip models
        self.serial_ports: dict[str, Any] = {}  # device path -> callable(**kw) returning a port
        self.state: dict[str, Any] = {}  # sim components' shared bits (e.g. fault flags)

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
    world = SimWorld()
    return Hardware(pin_factory=world.pin_factory, open_i2c=world.open_i2c, open_serial=world.open_serial,
                    simulated=True, world=world)


def real_hardware() -> Hardware:
    """The Pi: gpiozero picks its default factory (lgpio on Pi OS), smbus2 and pyserial for buses."""

    def open_i2c(bus: int) -> Any:
        from smbus2 import SMBus

        return SMBus(bus)

    def open_serial(port: str, **kwargs: Any) -> Any:
        import serial

        return serial.Serial(port, **kwargs)

    from gpiozero import Device

    try:
        factory = Device._default_pin_factory()
    except Exception as exc:  # no GPIO chip (e.g. a laptop): say so plainly, the hub can't run here
        raise RuntimeError(f"无法访问 GPIO / no GPIO access ({exc}); on a PC use 'hub run --simulate'") from exc
    return Hardware(pin_factory=factory, open_i2c=open_i2c, open_serial=open_serial, simulated=False)


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
