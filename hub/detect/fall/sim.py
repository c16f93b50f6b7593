"""Simulation of the fall inputs: `hub sim fall` and `hub sim radar fall|presence|garbage`.

`hub sim fall` replays a synthetic fall (standing and swaying, a short drop, an impact, lying still) as
WitMotion packets from a virtual BLE peripheral, so it reaches the detector through bleak, the wearable
parser and the sensor exactly like a worn one. `hub sim radar ...` writes MR60FDA1 frames (plus noise)
into a pyserial loop:// port that the radar sensor reads as its UART. The trace is synthesised here; no
recorded dataset is shipped.

The simulated board has the parts its config names, as a real one does: `[fall] wearable_address` (a
virtual WitMotion under that address; SIM_WEARABLE_ADDRESS is the one tests and the demo use) and
`[fall] radar_port` (a loop:// port under that name; SIM_RADAR_PORT is the Pi's UART). Each verb is
registered only with its part: on a hub without one, `hub sim fall` / `hub sim radar` say it is not
fitted and which key to add (hub.cli.sim), and a board without either never imports this module
(`GATES` in hub/core/components.py), nor bleak, the virtual radio or pyserial with it.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from drivers import radar as radar_proto
from drivers.ble.virtual.gatt import GattChar, GattService, Link, VirtualPeripheral
from drivers.wearable import NOTIFY_UUID, SERVICE_UUID, WRITE_UUID, encode_sample
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.simulation import SimParser, shared_radio
from hub.detect.fall.component import AXIS_VECTORS, fitted

if TYPE_CHECKING:
    import numpy as np

SIM_RADAR_PORT = "/dev/ttyAMA0"  # the Pi's PL011 UART on GPIO14/15, where docs/hardware.md wires the radar
SIM_WEARABLE_ADDRESS = "C8:17:5F:00:00:01"


def synth_fall_trace(rate_hz: float, up: tuple[float, float, float] = (0.0, -1.0, 0.0),
                     seed: int = 1) -> np.ndarray:
    """(N, 3) acceleration in g: 3 s standing with sway, 0.5 s falling (rotating, partly weightless), an
    impact with a rebound, then 14 s lying on the side, still (past the post-fall phase).
    Physically plausible, not a recording."""
    import numpy as np  # only when a fall is simulated: keeps the idle simulated hub small

    rng = np.random.default_rng(seed)
    u = np.asarray(up, dtype=np.float64)
    side = np.roll(u, 1)  # an axis perpendicular to `up`: where gravity ends up when lying
    t_stand, t_fall, t_impact, t_lie = 3.0, 0.5, 0.15, 14.0
    n = [round(x * rate_hz) for x in (t_stand, t_fall, t_impact, t_lie)]
    stand_t = np.arange(n[0]) / rate_hz
    stand = u * (1.0 + 0.08 * np.sin(2 * math.pi * 1.8 * stand_t))[:, None] + \
        side * (0.05 * np.sin(2 * math.pi * 0.9 * stand_t))[:, None]
    phase = np.linspace(0.0, 1.0, n[1])[:, None]
    angle = phase * (math.pi / 2)
    weight = 1.0 - 0.7 * np.sin(math.pi * phase)  # the body partly in free fall
    falling = (u * np.cos(angle) + side * np.sin(angle)) * weight
    k = np.arange(n[2]) / max(1, n[2] - 1)
    pulse = 5.0 * np.exp(-((k - 0.2) / 0.12) ** 2) - 1.2 * np.exp(-((k - 0.65) / 0.1) ** 2)
    impact = side * (1.0 + pulse)[:, None] + u * (0.8 * pulse)[:, None]
    lying = np.tile(side, (n[3], 1))
    trace = np.vstack((stand, falling, impact, lying))
    return trace + rng.normal(0.0, 0.01, trace.shape)


def synth_chair_fall_trace(rate_hz: float, up: tuple[float, float, float] = (0.0, -1.0, 0.0),
                           seed: int = 1) -> np.ndarray:
    """(N, 3) in g: 3 s sitting upright, 2.5 s slumping forward out of the chair (fainting: the trunk
    tilts slowly, little free fall), a soft impact (~2.3 g), then 44 s lying face down, still: an impact
    this soft is decided only once the wearer has stayed down `STAY_S` (30 s) past the post phase."""
    import numpy as np

    rng = np.random.default_rng(seed)
    u = np.asarray(up, dtype=np.float64)
    front = np.roll(u, 2)  # where gravity ends up lying face down
    n_sit, n_slump, n_hit, n_lie = (round(x * rate_hz) for x in (3.0, 2.5, 0.2, 44.0))
    sit = np.tile(u * math.cos(0.1) + front * math.sin(0.1), (n_sit, 1))
    phase = np.linspace(0.0, 1.0, n_slump)[:, None]
    angle = 0.1 + (math.pi / 2 - 0.1) * phase ** 1.5
    slump = (u * np.cos(angle) + front * np.sin(angle)) * (1.0 - 0.35 * np.sin(math.pi * phase) ** 4)
    k = np.arange(n_hit) / max(1, n_hit - 1)
    pulse = 1.3 * np.exp(-((k - 0.3) / 0.15) ** 2)
    hit = front * (1.0 + pulse)[:, None] + u * (0.3 * pulse)[:, None]
    trace = np.vstack((sit, slump, hit, np.tile(front, (n_lie, 1))))
    return trace + rng.normal(0.0, 0.01, trace.shape)


def synth_recovered_trace(rate_hz: float, up: tuple[float, float, float] = (0.0, -1.0, 0.0), seed: int = 1,
                          lie_s: float = 4.0, collapse: bool = False) -> np.ndarray:
    """The synthetic fall, `lie_s` on the floor, 3 s getting up, 15 s walking about; `collapse`: then
    1.5 s sinking back to the floor without an impact and 40 s lying still (an injured wearer)."""
    import numpy as np

    fall = synth_fall_trace(rate_hz, up, seed)
    u = np.asarray(up, dtype=np.float64)
    side = np.roll(u, 1)
    impact_end = round(3.65 * rate_hz)
    head = fall[:impact_end + round(lie_s * rate_hz)]

    def turn(a: np.ndarray, b: np.ndarray, seconds: float) -> np.ndarray:
        k = np.linspace(0.0, 1.0, round(seconds * rate_hz))[:, None] * (math.pi / 2)
        return a * np.cos(k) + b * np.sin(k)

    t = np.arange(round(15.0 * rate_hz)) / rate_hz
    walk = (u * (1.0 + 0.25 * np.sin(2 * math.pi * 1.8 * t))[:, None]
            + side * (0.1 * np.sin(2 * math.pi * 0.9 * t))[:, None])
    parts = [head, turn(side, u, 3.0), walk]
    if collapse:
        parts += [turn(u, side, 1.5), np.tile(side, (round(40.0 * rate_hz), 1))]
    trace = np.vstack(parts)
    return trace + np.random.default_rng(seed + 1).normal(0.0, 0.01, trace.shape)


class SimWitMotion(VirtualPeripheral):
    """A WitMotion BLE IMU: notify ffe4 (0x55 0x61 packets), write ffe9 (FF AA commands)."""

    def __init__(self, address: str) -> None:
        self.commands: list[bytes] = []
        super().__init__(address, "WT901BLE68", [GattService(SERVICE_UUID, [
            GattChar(NOTIFY_UUID, ["notify"]),
            GattChar(WRITE_UUID, ["write", "write-without-response"], on_write=self._on_write)])])

    async def _on_write(self, link: Link, data: bytes) -> None:
        self.commands.append(data)

    def on_disconnect(self, link: Link) -> None:
        self.start_advertising()  # it goes back to advertising, as the real one does

    async def stream(self, acc: np.ndarray, per_yield: int = 10) -> int:
        """Notify each sample as one packet; returns how many went out."""
        sent = 0
        for i, row in enumerate(acc):
            link = self.link
            if link is None or not await link.send(NOTIFY_UUID, encode_sample(tuple(row))):
                break
            sent += 1
            if i % per_yield == 0:
                await asyncio.sleep(0.001)
        return sent


class SimFall:
    name = "sim.fall"

    def __init__(self, config: Config, hardware: Hardware) -> None:
        self.cfg = config["fall"]
        self.radar_ports: list[Any] = []
        # Built before the fall component (hub.core.components): the parts must be on the board first.
        radar_port, wearable_address = fitted(config)
        if radar_port:
            hardware.world.serial_ports[radar_port] = self._open_radar
        self.wearable = SimWitMotion(wearable_address) if wearable_address else None
        if self.wearable is not None:
            shared_radio(hardware).add(self.wearable)
        self.has_radar = bool(radar_port)

    def _open_radar(self, **kwargs: Any) -> Any:
        import serial

        port = serial.serial_for_url("loop://", timeout=kwargs.get("timeout", 0.2))
        self.radar_ports.append(port)
        return port

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        if self.wearable is not None:
            self.wearable.start_advertising()  # before the fall component starts connecting to it
            ctx.add_sim_command("fall", self.sim_fall)
        if self.has_radar:
            ctx.add_sim_command("radar", self.sim_radar)

    def _fall(self) -> Any:
        fall = self._ctx.component("fall")
        if fall is None:
            raise ControlError("跌倒检测没有运行 the fall component is not running (see the hub's log)")
        return fall

    async def sim_fall(self, argv: list[str]) -> dict[str, Any]:
        parser = SimParser("hub sim fall")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--how", choices=("walking", "chair", "got-up", "collapse"), default="walking")
        args = parser.parse_args(argv)
        fall = self._fall()
        assert self.wearable is not None  # the verb is registered only with the wearable
        for _ in range(100):  # the hub connects within a moment of start-up
            if self.wearable.link is not None and self.wearable.link.cccd.get(NOTIFY_UUID):
                break
            await asyncio.sleep(0.1)
        else:
            raise ControlError("终端还没连上模拟手环，请再试 the hub has not connected to the simulated wearable yet; "
                               "try again")
        rate, up = self.cfg["wearable_rate_hz"], AXIS_VECTORS[self.cfg["up_axis"]]
        if args.how == "walking":
            trace = synth_fall_trace(rate, up, args.seed)
        elif args.how == "chair":
            trace = synth_chair_fall_trace(rate, up, args.seed)
        else:
            trace = synth_recovered_trace(rate, up, args.seed, collapse=args.how == "collapse")
        if args.how == "got-up":
            recovered = fall.wait_outcome()
            sent = await self.wearable.stream(trace)
            try:
                return {"samples": sent, "suspected": False, **await asyncio.wait_for(recovered, 5)}
            except TimeoutError:
                recovered.cancel()
                return {"samples": sent, "suspected": False, "outcome": None}
        suspected = fall.wait_suspected()
        sent = await self.wearable.stream(trace)
        try:
            info = await asyncio.wait_for(suspected, 5)
        except TimeoutError:
            suspected.cancel()
            return {"samples": sent, "suspected": False}
        return {"samples": sent, "suspected": True, "countdown_s": self.cfg["countdown_s"], **info}

    async def sim_radar(self, argv: list[str]) -> dict[str, Any]:
        parser = SimParser("hub sim radar")
        parser.add_argument("what", choices=("fall", "presence", "garbage"))
        args = parser.parse_args(argv)
        fall = self._fall()
        for _ in range(100):
            if self.radar_ports and fall.radar.connected:
                break
            await asyncio.sleep(0.1)
        else:
            raise ControlError("终端还没打开模拟雷达，请再试 the hub has not opened the simulated radar port yet; "
                               "try again")
        good = radar_proto.encode(*radar_proto.PRESENCE, b"\x01")
        # line noise, a truncated frame, and a frame with a corrupted checksum, before the real report
        bad_sum = radar_proto.encode(*radar_proto.MOTION, b"\x02")[:-3] + b"\x00\x54\x43"
        noise = b"\x00\xff\x53" + good[:7] + bad_sum
        payload = {"presence": good, "garbage": noise,
                   "fall": noise + good + radar_proto.encode(*radar_proto.FALL, b"\x01")}[args.what]
        suspected = fall.wait_suspected() if args.what == "fall" else None
        self.radar_ports[-1].write(payload)
        out: dict[str, Any] = {"bytes": len(payload), "countdown_was_running": fall.counting_down}
        if suspected is not None:
            try:
                out.update(await asyncio.wait_for(suspected, 5), suspected=True)
            except TimeoutError:
                suspected.cancel()
                out["suspected"] = False
        else:
            await asyncio.sleep(0.5)  # let the reader thread take the bytes
        out["radar"] = fall.radar.stats()
        return out

    async def close(self) -> None:
        for port in self.radar_ports:
            port.close()
        self.radar_ports.clear()


def build(config: Config, hardware: Hardware) -> SimFall | None:
    return SimFall(config, hardware) if hardware.simulated and any(fitted(config)) else None
