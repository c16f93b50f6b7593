"""The `triggers` component: BLE pendants and pull cords heard passively through bleak's BleakScanner
(detection callback, no connection), bound by address AND bind key (drivers/ble/adverts.py decodes with
bthome-ble); a press raises a call through the `calls` component (ctx.component("calls"), duck-typed);
the packet counter, persisted, refuses replays also after a restart. Supervision of every trigger, and
of any device another integration reports through `heard()`, is hub/triggers/supervision.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.loglimit import PerCause
from hub.triggers.state import FILENAME, TriggerState, key_id
from hub.triggers.supervision import Supervisor, local_iso

log = logging.getLogger(__name__)
limited = PerCause(log)
WEARABLE = ("pendant", "wrist")
EVENT_ACTION = {"press": "press", "double": "double", "long": "long", "triple": "press"}


class Calls(Protocol):
    """What this package needs of the `calls` component (hub.calls.manager)."""

    async def raise_remote(self, kind: str, source: dict[str, Any], ts: datetime) -> dict[str, Any]: ...

    async def cancel_remote(self, trigger: str, within_s: float, ts: datetime) -> dict[str, Any]: ...


class Triggers:
    name = "triggers"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.items: dict[str, dict[str, Any]] = {t["id"]: t for t in config["triggers"]}
        self.by_address = {t["address"].upper(): t for t in config["triggers"]}
        self.keys = {t["id"]: (bytes.fromhex(t["key"]) if t["key"] else None) for t in config["triggers"]}
        self.refused: dict[str, int] = {}  # reason -> frames refused (status, selftest)
        self.strangers: set[str] = set()  # addresses heard that are not bound here (never acted on)
        self.outcomes: list[dict[str, Any]] = []  # what each accepted press did (sim verbs wait on it)
        self._decoders: dict[str, Any] = {}
        self._scanner: Any = None
        self._ctx: HubContext | None = None
        self._save_lock = asyncio.Lock()
        self._unsaved = False  # the last save failed (the card): said once
        self._last_plain: dict[str, int] = {}  # unencrypted devices: last packet id (repeats of one advert)
        self.state: TriggerState
        self.supervisor: Supervisor
        self.ready = asyncio.Event()  # started: listening (tests and the simulation wait on it)

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.state = await asyncio.to_thread(TriggerState, self.config.state_dir / FILENAME)
        now = ctx.clock.now().timestamp()
        for tid, item in self.items.items():
            d = self.state.device(tid)
            d.room, d.kind = item["room"], item["kind"]
            if d.key_id != key_id(self.keys[tid]):  # bound anew (or first time): a new key, a new counter
                d.key_id, d.counter, d.bound_at = key_id(self.keys[tid]), -1, now
            d.last_heard = d.last_heard if d.last_heard is not None else now  # supervised from binding
            d.bound_at = d.bound_at if d.bound_at is not None else now  # a state file from before bound_at
        self.supervisor = Supervisor(self, ctx)
        ctx.add_control_command("triggers.list", self._control_list)
        self.save()
        self.supervisor.start()
        if self.by_address:
            await self._start_scanner(ctx)
        self.ready.set()

    async def _start_scanner(self, ctx: HubContext) -> None:
        from bleak import BleakScanner

        from drivers.ble.adverts import AdvertDecoder

        for address, item in self.by_address.items():
            self._decoders[address] = AdvertDecoder(address, self.keys[item["id"]])
        kwargs: dict[str, Any] = {"detection_callback": self._on_advert}
        if ctx.hardware.ble_scanner_backend is not None:
            kwargs["backend"] = ctx.hardware.ble_scanner_backend
        else:
            kwargs["adapter"] = self.config["ble"]["adapter"]
        try:
            self._scanner = BleakScanner(**kwargs)
            await self._scanner.start()
        except Exception as exc:  # adapter off or missing: the supervision still says so within the day
            log.error("蓝牙扫描无法启动 BLE scanner failed: %s; check 'bluetoothctl show' and 'rfkill list'", exc)
            self._scanner = None
            ctx.set_status("triggers_scanner", f"failed: {exc}")

    # --- advertisements (bleak calls this on the loop) ---------------------------------------------
    def _on_advert(self, device: Any, adv: Any) -> None:
        from drivers.ble.adverts import Refused

        address = str(device.address).upper()
        item = self.by_address.get(address)
        if item is None:
            if len(self.strangers) < 256:
                self.strangers.add(address)  # a neighbour's pendant: heard, never acted on
            return
        result = self._decoders[address].decode(device, adv)
        if isinstance(result, Refused):
            self._refuse(item, result.reason)
            return
        d = self.state.device(item["id"])
        if result.counter is not None:
            if result.counter <= d.counter:
                if result.counter < d.counter:  # an older frame: recorded and replayed, or a reset device
                    self._refuse(item, "replay")
                return  # else the same frame repeated, as every advertiser does
            d.counter = result.counter
        elif result.packet_id is not None:
            if self._last_plain.get(address) == result.packet_id:
                return
            self._last_plain[address] = result.packet_id
        ts = self._require_ctx().clock.now()
        self.heard(item["id"], room=item["room"], kind=item["kind"], battery_pct=result.battery_pct,
                   signal=result.rssi)
        for event in result.events:
            self._press(item, event, ts)

    def _refuse(self, item: dict[str, Any], reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        limited.warning(f"{item['id']}:{reason}", "trigger %s (%s): frame refused: %s", item["id"], item["room"],
                        reason)
        if reason == "replay":
            self.supervisor.counter_went_back(item["id"])

    def _press(self, item: dict[str, Any], event: str, ts: datetime) -> None:
        ctx = self._require_ctx()
        ctx.activity.note(f"trigger:{item['id']}", ts)
        if self.supervisor.test_press(item["id"]):
            self.outcomes.append({"trigger": item["id"], "event": event, "outcome": "tested"})
            return
        action = item[EVENT_ACTION.get(event, "press")]
        calls: Calls | None = ctx.component("calls")
        if action == "none" or calls is None:
            self.outcomes.append({"trigger": item["id"], "event": event, "outcome": "ignored"})
            return
        source = {"trigger": item["id"], "room": item["room"]}
        if action == "cancel":
            coro = calls.cancel_remote(item["id"], self.config["supervision"]["cancel_window_s"], ts)
        else:
            coro = calls.raise_remote(action, source, ts)
        ctx.spawn(f"triggers.{action}.{item['id']}", self._record(item["id"], event, coro))

    async def _record(self, tid: str, event: str, coro: Any) -> None:
        outcome = await coro
        self.outcomes.append({"trigger": tid, "event": event, **outcome})

    # --- the Protocol other integrations call (h24zb: zigbee) --------------------------------------
    def heard(self, device_id: str, *, room: str, kind: str, battery_low: bool | None = None,
              battery_pct: int | None = None, signal: int | None = None) -> None:
        """A device was heard from (a valid frame, a zigbee state message): supervision restarts, battery
        and signal are noted. A device not in [[triggers]] is supervised too from its first call here."""
        self.supervisor.heard(device_id, room=room, kind=kind, battery_low=battery_low, battery_pct=battery_pct,
                              signal=signal)

    # --- persistence, status ------------------------------------------------------------------------
    def save(self) -> None:
        ctx = self._require_ctx()
        snapshot = self.state.snapshot()
        ctx.spawn("triggers.save", self._write(snapshot))
        ctx.set_status("triggers", self.rows())

    async def _write(self, snapshot: bytes) -> None:
        async with self._save_lock:
            try:
                await asyncio.to_thread(self.state.write, snapshot)
            except OSError as exc:  # a full or read-only card (fault.storage says so): supervision goes on
                if not self._unsaved:  # once, not at every change heard from a device
                    log.warning("triggers: cannot save %s (%s); kept in memory, saved again at each change",
                                self.state.path, exc)
                self._unsaved = True
            else:
                self._unsaved = False

    def rows(self) -> list[dict[str, Any]]:
        supervisor: Supervisor | None = getattr(self, "supervisor", None)
        zone = supervisor.zone if supervisor is not None else None

        def iso(t: float | None) -> str | None:
            return local_iso(t, zone)

        return [{"id": tid, "room": d.room, "kind": d.kind, "bound": tid in self.items,
                 "last_heard": iso(d.last_heard), "battery_pct": d.battery_pct, "battery_low": d.battery_low,
                 "signal": d.signal, "last_test": iso(d.last_test), "faults": sorted(d.faults)}
                for tid, d in sorted(self.state.devices.items())]

    async def _control_list(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"triggers": self.rows(), "refused": dict(self.refused), "strangers": sorted(self.strangers)}

    def _require_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("Triggers used before start()")
        return self._ctx

    async def close(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            try:
                await scanner.stop()
            except Exception as exc:
                log.debug("scanner stop: %s", exc)


def build(config: Config, hardware: Hardware) -> Triggers | None:
    return Triggers(config)
