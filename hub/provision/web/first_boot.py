"""First boot: `hub run` finds no config but the unit's label (made by `hub install`): it opens the
hotspot and the set-up page, and nothing else, until the installer has saved a config; then it exits so
systemd starts the hub with it. Provisioning and Wi-Fi work; the rest of the page says to finish first.

`HUB_SETUP_ADDRESS` / `HUB_SETUP_PORT` / `HUB_SETUP_HOTSPOT=0` override the defaults (tests, a bench).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from hub.config.schema import all_sections
from hub.provision.web import hotspot
from hub.provision.web.actions import Actions
from hub.provision.web.guard import Guard
from hub.provision.web.label import Label

log = logging.getLogger(__name__)
DEFAULT_STATE_DIR = "/var/lib/eldercare-hub"


def defaults() -> dict[str, Any]:
    section = next(s for s in all_sections() if s.name == "setup_mode")
    cfg = {name: key.default for name, key in section.keys.items()}
    cfg["address"] = os.environ.get("HUB_SETUP_ADDRESS", cfg["address"])
    cfg["port"] = int(os.environ.get("HUB_SETUP_PORT", cfg["port"]))
    cfg["hotspot"] = os.environ.get("HUB_SETUP_HOTSPOT", "1") != "0"
    return cfg


async def serve_until_provisioned(config_path: Path, label: Label) -> int:
    from aiohttp import web

    from hub.provision.web.app import make_app

    cfg = defaults()
    actions = Actions(config_path, DEFAULT_STATE_DIR, cfg["ifname"])
    finished = asyncio.Event()

    async def done() -> dict[str, Any]:
        if not actions.provisioned_now:
            raise_not_yet()
        asyncio.get_running_loop().call_later(1.0, finished.set)
        return {"provisioned": True, "serial": label.serial, "broker": "starting", "open_alarms": 0,
                "hub_id": None}

    actions.on_done = done
    if cfg["hotspot"]:
        await hotspot.start(cfg["ifname"], f"{cfg['ssid_prefix']}{label.serial}", label.hotspot_password)
    hello = {"serial": label.serial, "hub_id": None, "secrets": actions.secret_fields(), "first_boot": True}
    runner = web.AppRunner(make_app(Guard(label.setup_code), actions, lambda: hello), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, cfg["address"], cfg["port"]).start()
    log.warning("first boot, no config at %s: set-up mode at http://%s:%s/ (hotspot %s%s)", config_path,
                cfg["address"], cfg["port"], cfg["ssid_prefix"], label.serial)
    try:
        await finished.wait()
    finally:
        await runner.cleanup()
    log.info("provisioned from the set-up page: exiting so that systemd starts the hub with %s", config_path)
    return 0


def raise_not_yet() -> None:
    from hub.provision.web.actions import ActionError

    raise ActionError("请先保存配置 / save the configuration first")
