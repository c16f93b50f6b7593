"""Publish `system.provisioned` once per provisioning.

`hub provision` usually runs while the hub is stopped (or before it was ever started), so it leaves its
report beside the config (`provisioned.json`); the hub publishes it on its next start through the outbox
(so it survives being offline) and notes the report's id in `state_dir` so a restart does not repeat it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.files import atomic_write
from hub.provision.writer import record_path

log = logging.getLogger(__name__)
SENT_MARKER = "provisioned.sent"
REPORT_COMMAND = "provision.report"  # on the control socket, from the wizard


class ProvisionReporter:
    name = "provision.reporter"

    def __init__(self, config: Config) -> None:
        self.config = config

    async def start(self, ctx: HubContext) -> None:
        ctx.spawn("provision.report", self.report(ctx))
        ctx.add_control_command(REPORT_COMMAND, lambda request: self._report_now(ctx))

    async def _report_now(self, ctx: HubContext) -> dict[str, Any]:
        """The wizard wrote its report (with the live-check results) after this hub started: send it now."""
        pending = self.pending() is not None
        await self.report(ctx)
        return {"published": pending}

    def pending(self) -> dict[str, Any] | None:
        try:
            record = json.loads(record_path(self.config.path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("cannot read the provisioning report %s: %s", record_path(self.config.path), exc)
            return None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            return None
        marker = self.config.state_dir / SENT_MARKER
        try:
            if marker.read_text(encoding="utf-8").strip() == record["id"]:
                return None
        except FileNotFoundError:
            pass
        return record

    async def report(self, ctx: HubContext) -> None:
        record = self.pending()
        if record is None:
            return
        data = {
            "provisioning_id": record["id"],
            "provisioned_at": record.get("provisioned_at"),
            "source": record.get("source"),
            "fitted": record.get("fitted") or {},
            "live_check": record.get("live_check"),
        }
        await ctx.raise_event("system.provisioned", data)
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.config.state_dir / SENT_MARKER, record["id"].encode())

    async def close(self) -> None:
        pass


def build(config: Config, hardware: Hardware) -> ProvisionReporter:
    return ProvisionReporter(config)
