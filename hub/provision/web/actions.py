"""What the set-up page does, each through the code path the CLI uses: the bundle checks and writer of
`hub provision`, and the running hub's control commands that `hub selftest`, `hub ble` and the wizard's
test call use (`state_dir/control.sock`), called from a worker thread so the hub's loop never waits.
On first boot there is no running hub yet: only provisioning and Wi-Fi, and the rest says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub.core.control import ControlError, request, socket_path
from hub.provision import answers, writer
from hub.provision.bundle import BundleError, check, parse_text
from hub.provision.fields import secret_paths
from hub.provision.web import hotspot

log = logging.getLogger(__name__)

NOT_YET = "请先完成安装 / provision the unit first: this needs the running hub"


class ActionError(Exception):
    """A refusal worded for the installer (shown on the page as it is)."""


class Actions:
    """Set-up actions for a unit that may not be provisioned yet (first boot)."""

    def __init__(self, config_path: Path, state_dir: str, ifname: str) -> None:
        self.config_path = Path(config_path)
        self.state_dir = state_dir
        self.ifname = ifname
        self.wifi: dict[str, Any] = {"ssid": None, "state": "hotspot"}
        self.provisioned_now = False
        self.last_reading: dict[str, Any] | None = None  # the newest measurement while the page is open
        self.on_done: Callable[[], Awaitable[dict[str, Any]]] | None = None

    # --- provisioning: hub.provision, as `hub provision --bundle` ------------------------------------
    def check_field(self, path: Any, value: Any) -> str:
        """'' when the answer is fine, else the wizard's words for what is wrong."""
        if not isinstance(path, str) or len(path) > 100:
            return "unknown field"
        try:
            answers.answer(path, value)  # the wizard's own checks: demo ids, a host with its port, weak passwords
        except (KeyError, IndexError, TypeError):
            return "unknown field"
        except ValueError as exc:
            return str(exc)
        return ""

    def provision(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            bundle = parse_text(body["text"]) if isinstance(body.get("text"), str) else check(body.get("bundle"))
            rendered = writer.render(bundle, self.config_path, state_dir=self.state_dir)
            writer.write(rendered, self.config_path)
            record = writer.write_record(self.config_path, "setup-page", rendered.fitted, None)
        except BundleError as exc:
            return {"ok": False, "field": exc.field, "problem": exc.problem}
        except OSError as exc:
            return {"ok": False, "field": "(file)", "problem": f"写入配置失败 could not write the config: {exc}"}
        self.provisioned_now = True
        return {"ok": True, "hub_id": bundle["hub"]["id"], "record": record["id"], "fitted": rendered.fitted}

    @staticmethod
    def secret_fields() -> list[str]:
        return sorted(secret_paths())

    # --- Wi-Fi: nmcli --------------------------------------------------------------------------------
    async def wifi_scan(self) -> list[dict[str, Any]]:
        try:
            return [n.__dict__ for n in await hotspot.scan(self.ifname)]
        except hotspot.NmcliError as exc:
            raise ActionError(f"无法扫描 Wi-Fi / scan failed: {exc}") from None

    async def wifi_connect(self, ssid: Any, password: Any) -> dict[str, Any]:
        if not isinstance(ssid, str) or not 0 < len(ssid.encode()) <= 32:
            raise ActionError("请选择网络 / pick a network (SSID of 1-32 bytes)")
        if not isinstance(password, str) or (password and not 8 <= len(password) <= 63):
            raise ActionError("密码应为 8-63 个字符 / the password has 8-63 characters")
        try:
            await hotspot.connect(self.ifname, ssid, password)
        except hotspot.NmcliError as exc:
            self.wifi = {"ssid": ssid, "state": "failed", "problem": str(exc)[:200]}
            raise ActionError(f"连接 {ssid} 失败 / could not join {ssid}: {exc}") from None
        self.wifi = {"ssid": ssid, "state": "connected"}
        return self.wifi

    # --- what needs the running hub ------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        return {"provisioned": self.config_path.exists(), "broker": "unknown", "wifi": self.wifi,
                "open_alarms": None}

    async def control(self, message: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        raise ActionError(NOT_YET)

    async def devices_scan(self) -> list[dict[str, Any]]:
        raise ActionError(NOT_YET)

    async def pair(self, address: Any) -> dict[str, Any]:
        raise ActionError(NOT_YET)

    async def done(self) -> dict[str, Any]:
        if self.on_done is None:
            raise ActionError(NOT_YET)
        return await self.on_done()


class HubActions(Actions):
    """In a running hub: its control commands, exactly as the CLI sends them."""

    async def control(self, message: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        path = socket_path(Path(self.state_dir))
        try:
            return await asyncio.to_thread(request, path, message, timeout)
        except ControlError as exc:
            raise ActionError(str(exc)) from None

    async def status(self) -> dict[str, Any]:
        hub = await self.control({"cmd": "status"}, 10)
        alarms = hub.get("open_alarms")
        return {"provisioned": True, "hub_id": hub.get("hub"), "broker": hub.get("state"), "wifi": self.wifi,
                "open_alarms": len(alarms) if isinstance(alarms, list) else alarms,
                "queue_depth": hub.get("queue_depth")}

    async def sim_or(self, verb: str, argv: list[str]) -> dict[str, Any] | None:
        """A simulated hub answers BLE verbs itself (its virtual radio); a real one says it is not simulated."""
        try:
            return await self.control({"cmd": "sim", "verb": verb, "argv": argv}, 60)
        except ActionError as exc:
            if "not simulated" in str(exc) or "unknown sim verb" in str(exc):
                return None
            raise

    async def devices_scan(self) -> list[dict[str, Any]]:
        seconds = 5.0
        found = await self.sim_or("ble-scan", [str(seconds)])
        if found is not None:
            return list(found["devices"])
        from sensors.meters.pairing import scan

        try:
            return await scan(seconds)
        except Exception as exc:  # adapter off, no D-Bus: one plain line for the page
            raise ActionError(f"蓝牙扫描失败 / scan failed: {exc}") from None

    async def pair(self, address: Any) -> dict[str, Any]:
        if not isinstance(address, str) or len(address) != 17:
            raise ActionError("请选择设备 / pick a device")
        paired = await self.sim_or("ble-pair", [address])
        self.last_reading = None  # from now on, the page shows the reading taken after pairing
        if paired is None:
            raise ActionError("请用 `hub ble pair` 配对此设备 / pair this meter with `hub ble pair` (bonding needs "
                              "the Bluetooth agent of the CLI)")
        return paired
