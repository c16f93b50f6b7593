"""Simulated door contacts and mats: `hub sim door open|close [--name N]`, `hub sim mat on|off [--name N]`.

The verbs drive the GPIO chip model's lines the contacts component reads, the way the real switch would (a
reed switch closed while the door is shut, a mat's switch closed under weight), then wait for the
component to have seen it and return its status. `--name` defaults to the
exit door (else the first door) and the first mat.
"""

from __future__ import annotations

from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimArgumentError, SimParser


class SimContacts:
    name = "sim.contacts"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.doors = {d["name"]: d for d in config["doors"]}
        self.mats = {m["name"]: m for m in config["mats"]}
        exits = [d["name"] for d in config["doors"] if d["exit"]]
        self.default_door = exits[0] if exits else next(iter(self.doors), None)
        self.hardware = hardware
        self._ctx: HubContext | None = None
        # The simulated home starts with every door shut and every mat free, as the lines have been since
        # before the hub started: set here, at build time, before the contacts component claims them
        # (components are all built, then started). Driven after the claim, each was a change inside its
        # debounce period, and an Input whose first level was the pull-up's dropped the next real
        # change (`hub sim door open` right after start-up did nothing).
        for cfg in self.doors.values():
            hardware.world.gpio.rest(cfg["pin"], 0 if cfg["closed_when_shut"] else 1)
        for cfg in self.mats.values():
            hardware.world.gpio.rest(cfg["pin"], 1 if cfg["closed_when_occupied"] else 0)

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        # The rest levels are on the lines already (__init__); the component reads them as its state.
        component = ctx.component("contacts")
        if component is not None:
            component.read_all()
        ctx.add_sim_command("door", self.door)
        ctx.add_sim_command("mat", self.mat)

    async def close(self) -> None:
        self._ctx = None

    async def door(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim door")
        p.add_argument("state", choices=("open", "close"))
        p.add_argument("--name", default=self.default_door)
        args = p.parse_args(argv)
        cfg = self._pick(self.doors, args.name, "门磁 door", "[[doors]]")
        closed = (args.state == "close") == cfg["closed_when_shut"]
        return await self._drive(cfg, closed, f"door:{args.name}")

    async def mat(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim mat")
        p.add_argument("state", choices=("on", "off"))
        p.add_argument("--name", default=next(iter(self.mats), None))
        args = p.parse_args(argv)
        cfg = self._pick(self.mats, args.name, "床垫/坐垫 mat", "[[mats]]")
        closed = (args.state == "on") == cfg["closed_when_occupied"]
        return await self._drive(cfg, closed, f"mat:{args.name}")

    def _level(self, pin: int, closed: bool) -> None:
        """The switch to ground against the pull-up: closed reads low. The sim switches cleanly; the
        chip model applies the line's debounce as the kernel does."""
        self.hardware.world.gpio.drive(pin, 0 if closed else 1)

    @staticmethod
    def _pick(table: dict[str, dict[str, Any]], name: str | None, what: str, section: str) -> dict[str, Any]:
        if not table:
            raise ControlError(f"未配置{what} no {what.split()[-1]} configured: add a {section} table to the config")
        if name not in table:
            raise SimArgumentError(f"没有叫 {name!r} 的{what} no {what.split()[-1]} named {name!r}; "
                                   f"已配置 configured: {', '.join(table)}")
        return table[name]

    async def _drive(self, cfg: dict[str, Any], closed: bool, key: str) -> dict[str, Any]:
        self._level(cfg["pin"], closed)
        await self.hardware.world.settled()  # through the line's debounce and handed to the loop
        ctx = self._ctx
        assert ctx is not None
        component = ctx.component("contacts")
        if component is None:
            raise ControlError("门磁/床垫部件没有运行 the contacts component is not running")
        await component.check()
        return {"name": cfg["name"], "pin": cfg["pin"], **component.status()[key]}


def build(config: Config, hardware: Hardware) -> SimContacts | None:
    if not hardware.simulated or not (config["doors"] or config["mats"]):
        return None
    return SimContacts(config, hardware)
