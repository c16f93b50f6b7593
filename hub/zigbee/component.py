"""The `zigbee` component: zigbee2mqtt's devices as the hub's sensors, alarms and call triggers.

It reads `<base>/bridge/devices` (what each device is, by its exposes), `<base>/<name>` (state) and
`<base>/<name>/availability` on the unit's own broker (hub.zigbee.link), for the devices configured in
[[zigbee.devices]] only, and only fresh messages: a retained state at start-up is history, never a new
alarm. Gas closes every gas valve (its `set` acknowledged by the local broker) BEFORE alarm.gas is
committed, then reports valve.closed once the valve says so, or fault.valve (hub.zigbee.valves).
Smoke goes to the home's fire alarm, an SOS button to the call manager, both through
`ctx.component` and Protocols of this package's own (hub.zigbee.peers).
"""

from __future__ import annotations

import logging
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.loglimit import PerCause
from hub.zigbee import devices as z
from hub.zigbee.alarms import ZigbeeAlarms
from hub.zigbee.link import LocalLink
from hub.zigbee.peers import Triggers, as_peer

log = logging.getLogger(__name__)
HOLD_ACTIONS = ("hold", "long")  # a button that can also be held: a hold inside the guard window cancels


class Zigbee:
    name = "zigbee"

    def __init__(self, config: Config) -> None:
        cfg = config["zigbee"]
        self.cfg = cfg
        self.base: str = cfg["base_topic"]
        self.hub_id: str = config["hub"]["id"]
        self.configured: dict[str, dict[str, str]] = {d["friendly_name"]: d for d in cfg["devices"]}
        self.known: dict[str, z.Known] = {}
        self.devices_seen = False
        self.bridge_online: bool | None = None
        self.available: dict[str, bool] = {}
        self.last: dict[str, dict[str, Any]] = {}  # name -> battery, linkquality, last heard
        self.link: LocalLink | None = None
        self.alarms: ZigbeeAlarms | None = None
        self._ctx: HubContext | None = None
        self._quiet = PerCause(log)

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.alarms = ZigbeeAlarms(ctx, self)
        self.link = LocalLink(self.cfg["host"], self.cfg["port"], f"eldercare-{self.hub_id}-zigbee"[:64],
                              [f"{self.base}/#"], self._on_message, self._on_link)
        self.link.start()
        self._publish()

    @property
    def ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("zigbee used before start()")
        return self._ctx

    def device(self, name: str) -> z.Known | None:
        known = self.known.get(name)
        return known if known is not None and known.used else None

    def valves(self, role: str) -> list[z.Known]:
        return [k for k in self.known.values() if k.used and k.role == role]

    # --- messages (on the loop) ----------------------------------------------------------------------
    def _on_link(self, up: bool) -> None:
        log.info("zigbee2mqtt broker %s:%d %s", self.cfg["host"], self.cfg["port"], "connected" if up else "lost")
        self._publish()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            self._dispatch(topic, payload, retained)
        except z.Refused as exc:
            self._quiet.warning(f"refused:{topic[:80]}", "zigbee2mqtt message on %s refused: %s", topic[:80], exc)
        except Exception:  # nothing a device sends may stop the others being heard
            log.exception("zigbee2mqtt message on %s could not be handled", topic[:80])

    def _dispatch(self, topic: str, payload: bytes, retained: bool) -> None:
        if not topic.startswith(self.base + "/"):
            return
        rest = topic[len(self.base) + 1:].split("/")
        if rest[0] == "bridge":
            if rest[1:] == ["devices"]:
                self._devices(payload)
            elif rest[1:] == ["state"]:
                self._bridge_state(z.read_availability(payload))
            return
        name = rest[0]
        if len(rest) > 2 or (len(rest) == 2 and rest[1] != "availability"):
            return  # <name>/set and /get: commands (ours echoed back, or an app's), never a state
        cfg = self.configured.get(name)
        if cfg is None:
            self._quiet.info(f"stranger:{name[:40]}", "zigbee device %r is not in [[zigbee.devices]]: ignored",
                             name[:40])
            return
        if len(rest) == 2:
            self._availability(name, cfg, z.read_availability(payload), fresh=not retained)
            return
        state = z.read_state(payload)  # checked even when it will be ignored: a bad one is logged
        if retained:
            self._quiet.info(f"retained:{name}", "zigbee %s: retained state is history, not a new report: "
                             "waiting for a fresh message", name)
            return
        known = self.device(name)
        if known is None:
            why = self.known[name].reason if name in self.known else "not (yet) in bridge/devices"
            self._quiet.warning(f"unused:{name}", "zigbee %s (%s, %s) reported but is not in use: %s", name,
                                cfg["role"], cfg["room"], why)
            return
        self._heard(known, state)
        assert self.alarms is not None
        self.alarms.state(known, state, self.ctx.clock.now())
        self._publish()

    def _devices(self, payload: bytes) -> None:
        self.known = z.read_devices(payload, self.configured)
        self.devices_seen = True
        for entry in self.known.values():
            if not entry.used:
                self._quiet.info(f"ignored:{entry.friendly_name}", "zigbee device %s (%s %s) ignored: %s",
                                 entry.friendly_name, entry.vendor, entry.model, entry.reason)
        assert self.alarms is not None
        for name, cfg in self.configured.items():
            known = self.known.get(name)
            reason = "not paired (not in zigbee2mqtt's device list)" if known is None else known.reason
            self.alarms.fault(name, cfg, "unusable", reason, present=bool(reason))
        self._publish()

    def _bridge_state(self, online: bool) -> None:
        if online == self.bridge_online:
            return
        self.bridge_online = online
        assert self.alarms is not None
        self.alarms.fault("bridge", {"room": "", "role": "bridge"}, "bridge_offline",
                          "zigbee2mqtt is not running or lost its coordinator stick", present=not online)
        self._publish()

    def _availability(self, name: str, cfg: dict[str, str], online: bool, fresh: bool = True) -> None:
        if self.available.get(name) == online:
            return
        self.available[name] = online
        assert self.alarms is not None
        self.alarms.fault(name, cfg, "offline", "zigbee2mqtt reports it unreachable (battery, range, or removed)",
                          present=not online)
        known = self.device(name)
        if online and fresh and known is not None:  # a retained "online" is what was, not a sign of life now
            self._heard(known, z.State())
        self._publish()

    def _heard(self, known: z.Known, state: z.State) -> None:
        """Supervision: every fresh sign of life to the triggers component, when one runs."""
        name = known.friendly_name
        entry = self.last.setdefault(name, {})
        entry["heard"] = self.ctx.clock.now().isoformat(timespec="seconds")
        for key, value in (("battery_pct", state.battery_pct), ("battery_low", state.battery_low),
                           ("linkquality", state.linkquality)):
            if value is not None:
                entry[key] = value
        if self.available.get(name) is False:
            self._availability(name, self.configured[name], True)
        trig: Triggers | None = as_peer(self.ctx.component("triggers"), Triggers)
        if trig is not None:
            try:
                trig.heard(f"zigbee:{name}", room=known.room or "", kind=known.role or "",
                           battery_low=state.battery_low, battery_pct=state.battery_pct, signal=state.linkquality)
            except Exception:
                log.exception("triggers.heard failed for zigbee %s", name)

    # --- status ----------------------------------------------------------------------------------------
    def listing(self) -> list[dict[str, Any]]:
        rows = []
        for name, cfg in self.configured.items():
            known = self.known.get(name)
            rows.append({"friendly_name": name, "room": cfg["room"], "role": cfg["role"],
                         "model": known.model if known else None, "used": bool(known and known.used),
                         "reason": (known.reason if known else "not in bridge/devices"),
                         "available": self.available.get(name), **self.last.get(name, {})})
        return rows

    def _publish(self) -> None:
        if self._ctx is None:
            return
        self.ctx.set_status("zigbee", {"broker": bool(self.link and self.link.connected),
                                       "bridge_online": self.bridge_online, "devices": self.listing()})

    async def close(self) -> None:
        if self.alarms is not None:
            self.alarms.close()
        if self.link is not None:
            link, self.link = self.link, None
            link.close()


def build(config: Config, hardware: Hardware) -> Zigbee | None:
    return Zigbee(config) if config["zigbee"]["enabled"] else None
