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
]


def build_all(config: Config, hardware: Hardware) -> list[Component]:
    built: list[Component] = []
    for spec in FACTORIES:
        module, func = spec.split(":")
        component = getattr(import_module(module), func)(config, hardware)
        if component is not None:
            built.append(component)
    return built
