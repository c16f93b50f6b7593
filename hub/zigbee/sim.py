"""`hub sim zigbee …`: zigbee2mqtt played on the unit's broker, for `hub run --simulate` and the demo.

On start it publishes, retained, what zigbee2mqtt publishes: `bridge/state`, `bridge/devices` (the configured
devices as the documented models, hub.zigbee.catalogue) and each device's availability; it answers a
valve's `set` with the valve's new state (unless told the valve is stuck) and `bridge/request/permit_join`
with its response. The verbs publish state messages as the devices do:

    hub sim zigbee gas on|off [--name N]     water / co / smoke / door / motion the same way
    hub sim zigbee sos [--name N]            the SOS button's action "emergency"
    hub sim zigbee battery PCT [--name N]    a report with that battery level
    hub sim zigbee offline|online [--name N] availability
    hub sim zigbee valve stuck|ok [--name N] the valve ignores (or obeys) `set`
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.simulation import SimArgumentError, SimParser
from hub.zigbee import catalogue
from hub.zigbee.link import LocalLink

log = logging.getLogger(__name__)
STATES = ("gas", "water", "co", "smoke", "door", "motion")


def parser() -> SimParser:
    p = SimParser("hub sim zigbee")
    p.add_argument("what", choices=(*STATES, "sos", "battery", "offline", "online", "valve"))
    p.add_argument("value", nargs="?", help="on|off; battery percent; valve stuck|ok")
    p.add_argument("--name", help="friendly_name (default: the first device of that role)")
    return p


class ZigbeeSim:
    name = "zigbee_sim"

    def __init__(self, config: Config) -> None:
        cfg = config["zigbee"]
        self.base: str = cfg["base_topic"]
        self.host, self.port = cfg["host"], cfg["port"]
        self.devices: list[dict[str, str]] = list(cfg["devices"])
        self.stuck: set[str] = set()
        self.on: dict[str, bool] = {}  # what each device last reported: a battery report repeats it, as a real one does
        self.link: LocalLink | None = None
        self.hub_id: str = config["hub"]["id"]

    async def start(self, ctx: HubContext) -> None:
        self.link = LocalLink(self.host, self.port, f"sim-z2m-{self.hub_id}"[:64],
                              [f"{self.base}/+/set", f"{self.base}/bridge/request/#"], self._on_message,
                              self._on_state)
        self.link.start()
        ctx.add_sim_command("zigbee", self._sim)

    def _on_state(self, up: bool) -> None:
        if not up or self.link is None:
            return
        entries = [catalogue.coordinator(), *(catalogue.bridge_entry(d["friendly_name"], d["role"], i)
                                              for i, d in enumerate(self.devices, 1))]
        self.link.publish_nowait(f"{self.base}/bridge/state", json.dumps({"state": "online"}), retain=True)
        self.link.publish_nowait(f"{self.base}/bridge/devices", json.dumps(entries), retain=True)
        for d in self.devices:
            self.link.publish_nowait(f"{self.base}/{d['friendly_name']}/availability",
                                     json.dumps({"state": "online"}), retain=True)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if self.link is None:
            return
        if topic.endswith("/bridge/request/permit_join"):
            try:
                seconds = int(json.loads(payload).get("time", 0))
            except (ValueError, AttributeError, TypeError):
                seconds = 0
            self.link.publish_nowait(f"{self.base}/bridge/response/permit_join",
                                     json.dumps({"data": {"time": seconds}, "status": "ok"}))
            return
        name = topic[len(self.base) + 1:].rsplit("/", 1)[0]
        valve = next((d for d in self.devices if d["friendly_name"] == name and d["role"].endswith("_valve")), None)
        if valve is None or name in self.stuck:
            return
        try:
            wanted = json.loads(payload).get("state")
        except (ValueError, AttributeError):
            return
        if wanted in ("ON", "OFF"):
            self.link.publish_nowait(f"{self.base}/{name}", json.dumps({"state": wanted, "linkquality": 150}))

    def _pick(self, roles: tuple[str, ...], name: str | None) -> dict[str, str]:
        for d in self.devices:
            if (name is None and d["role"] in roles) or d["friendly_name"] == name:
                return d
        raise SimArgumentError(f"没有这个无线设备 no zigbee device {name or 'with role ' + '/'.join(roles)} in "
                               "[[zigbee.devices]]")

    async def _sim(self, argv: list[str]) -> dict[str, Any]:
        args = parser().parse_args(argv)
        link = self.link
        if link is None or not link.connected:
            return {"ok": False, "error": f"zigbee2mqtt broker {self.host}:{self.port} not connected"}
        if args.what in ("offline", "online"):
            d = self._pick(tuple(catalogue.VENDORS), args.name)
            topic, body = f"{self.base}/{d['friendly_name']}/availability", {"state": args.what}
            await link.publish(topic, json.dumps(body))
            return {"ok": True, "topic": topic, "payload": body}
        if args.what == "valve":
            d = self._pick(("gas_valve", "water_valve"), args.name)
            (self.stuck.add if args.value == "stuck" else self.stuck.discard)(d["friendly_name"])
            return {"ok": True, "valve": d["friendly_name"], "stuck": d["friendly_name"] in self.stuck}
        if args.what == "battery":
            d = self._pick(tuple(catalogue.VENDORS), args.name)
            body = catalogue.state(d["role"], self.on.get(d["friendly_name"], False), battery=int(args.value or 10))
        elif args.what == "sos":
            d = self._pick(("sos",), args.name)
            body = catalogue.state("sos", True)
        else:
            if args.value not in ("on", "off"):
                raise SimArgumentError(f"用法 usage: hub sim zigbee {args.what} on|off")
            d = self._pick((args.what,), args.name)
            self.on[d["friendly_name"]] = args.value == "on"
            body = catalogue.state(args.what, args.value == "on")
        topic = f"{self.base}/{d['friendly_name']}"
        await link.publish(topic, json.dumps(body))
        return {"ok": True, "topic": topic, "payload": body}

    async def close(self) -> None:
        if self.link is not None:
            link, self.link = self.link, None
            link.close()


def build(config: Config, hardware: Hardware) -> ZigbeeSim | None:
    z = config["zigbee"]
    return ZigbeeSim(config) if hardware.simulated and z["enabled"] and z["sim_bridge"] else None
