"""Simulated BLE pendants on the virtual radio, and `hub sim pendant press|double|long|battery|silent|replay`.

Each [[triggers]] entry gets a BTHome v2 button (drivers/ble/virtual/bthome_device.py) with its address and
bind key: a press is the encrypted advertisement a Shelly BLU Button sends, heard through bleak's
BleakScanner API by the same code as on a Pi. A heartbeat advert keeps each pendant supervised until
`silent` (battery out); `replay` sends the last frame again, as an attacker who recorded it would.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError, SimParser, not_fitted, shared_radio

if TYPE_CHECKING:  # the virtual radio and bleak load only with a [[triggers]] entry to simulate (build)
    from drivers.ble.virtual.bthome_device import BthomeButton

VERBS = ("press", "double", "long", "battery", "silent", "replay")


class SimPendants:
    name = "sim.pendants"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.config = config
        self.radio = shared_radio(hardware)
        self.buttons: dict[str, BthomeButton] = {}
        self.silent: set[str] = set()
        self.last: dict[str, bytes] = {}
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        from drivers.ble.virtual.bthome_device import BthomeButton

        self._ctx = ctx
        for t in self.config["triggers"]:
            key = bytes.fromhex(t["key"]) if t["key"] else None
            self.buttons[t["id"]] = self.radio.add(BthomeButton(t["address"], key))  # type: ignore[assignment]
        ctx.add_sim_command("pendant", self.sim_pendant)
        ctx.add_sim_command("ble-adverts", self.sim_adverts)
        every = min(3600.0, self.config["supervision"]["supervision_h"] * 3600 / 4)
        ctx.spawn("sim.pendants.heartbeat", self._heartbeat(every))

    async def _heartbeat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            for tid, button in self.buttons.items():
                if tid not in self.silent:
                    self.last[tid] = button.send(None)

    async def sim_pendant(self, argv: list[str]) -> dict[str, Any]:
        p = SimParser("hub sim pendant")
        p.add_argument("action", choices=VERBS)
        p.add_argument("value", nargs="?", type=int, default=None, help="battery: the percentage it reports")
        p.add_argument("--id", default=None, help="which [[triggers]] id (default: the first)")
        a = p.parse_args(argv)
        if not self.buttons:
            raise not_fitted("无线按钮 no [[triggers]] in the config")
        tid = a.id or next(iter(self.buttons))
        if tid not in self.buttons:
            raise SimArgumentError(f"没有这个无线按钮 no trigger {tid!r}; 已配置 configured: {', '.join(self.buttons)}")
        button = self.buttons[tid]
        if a.action == "silent":
            self.silent.add(tid)
            return {"trigger": tid, "silent": True}
        self.silent.discard(tid)
        owner = self._require_ctx().component("triggers")
        before = len(owner.outcomes) if owner is not None else 0
        if a.action == "battery":
            button.battery_pct = 15 if a.value is None else max(0, min(100, a.value))
            self.last[tid] = button.send(None)
            return {"trigger": tid, "battery_pct": button.battery_pct, "frame": self.last[tid].hex()}
        if a.action == "replay":
            if tid not in self.last:
                raise SimArgumentError("replay: 请先按一次 press it first")
            from drivers.ble.virtual.bthome_device import BTHOME_UUID

            button.advertising = True
            button.advertise_once({BTHOME_UUID: self.last[tid]})
            button.advertising = False
            return {"trigger": tid, "replayed": self.last[tid].hex()}
        self.last[tid] = button.send(a.action)
        out: dict[str, Any] = {"trigger": tid, "counter": button.counter, "frame": self.last[tid].hex()}
        for _ in range(500):  # the press's outcome once its call is committed (bounded: a refused frame has none)
            mine = [o for o in owner.outcomes[before:] if o["trigger"] == tid] if owner is not None else [{}]
            if mine:
                out.update(mine[0])
                break
            await asyncio.sleep(0.01)
        return out

    async def sim_adverts(self, argv: list[str]) -> dict[str, Any]:
        """`hub ble scan` on a simulated hub: what the virtual radio's advertisers say (each pendant sends
        a heartbeat for it, as a button's first press after pairing mode would)."""
        from drivers.ble.adverts import scan_adverts
        from drivers.ble.virtual.bthome_device import BTHOME_UUID

        p = SimParser("hub sim ble-adverts")
        p.add_argument("timeout", type=float, nargs="?", default=2.0, help="seconds to scan (at most 30)")
        timeout = max(0.1, min(p.parse_args(argv).timeout, 30.0))
        for tid, button in self.buttons.items():
            if tid not in self.silent:
                button.service_data = {BTHOME_UUID: button.frame(None)}
                button.advertising = True  # advertising while the scan lasts, as a button in pairing mode
        try:
            devices = await scan_adverts(timeout, backend=self.radio.scanner_backend)
        finally:
            for button in self.buttons.values():
                button.advertising = False
        return {"devices": devices}

    def _require_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("SimPendants used before start()")
        return self._ctx

    async def close(self) -> None:
        for button in self.buttons.values():
            button.advertising = False


def build(config: Config, hardware: Hardware) -> SimPendants | None:
    if not hardware.simulated or not config["triggers"]:
        return None
    return SimPendants(config, hardware)
