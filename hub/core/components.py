"""The components a hub runs, in start order. Each factory returns None when its part is not fitted."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from hub.config import Config
from hub.context import Component, Hardware

Factory = Callable[[Config, Hardware], Component | None]

# "module:function" — imported lazily so a laptop without BLE/I2C libraries still imports `hub`.
FACTORIES: list[str] = [
    "hub.calls:build",
    "hub.sim_calls:build",
    "hub.sim_home:build",  # before home_sensors: its chips must be on the fake bus first
    "hub.home_sensors:build",
    "hub.sim_fall:build",  # before fall: the virtual wearable and radar port must exist first
    "hub.fall:build",
    "hub.inactivity:build",
    "hub.sim_inactivity:build",
    "hub.selftest_component:build",
    "hub.provision.reporter:build",
    "hub.device_health:build",
    "hub.sim_ble:build",  # before health: sets the virtual BLE backend and pre-pairs its meters
    "hub.health:build",
]


def build_all(config: Config, hardware: Hardware) -> list[Component]:
    built: list[Component] = []
    for spec in FACTORIES:
        module, func = spec.split(":")
        component = getattr(import_module(module), func)(config, hardware)
        if component is not None:
            built.append(component)
    return built
