"""Device health reporting: the unit's own readings (`sensors/system.py`) in `status.device` and in a
`telemetry.device` event every `[device_health] interval_s`, with the TLS client certificate's expiry
when the hub has one (hub.certificates.expiry)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.certificates.x509 import describe
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.ticks import sleep_aligned
from sensors.system import RATE_WINDOW_S, DeviceHealth, HealthSampler

log = logging.getLogger(__name__)


class DeviceHealthReporter:
    name = "device_health"

    def __init__(self, config: Config, sampler: HealthSampler | None = None) -> None:
        self.config = config
        self.interval_s = float(config["device_health"]["interval_s"])
        self.sampler = sampler or HealthSampler(config.state_dir)
        self.write_warn = float(config["device_health"]["write_warn_mb_per_h"]) * 2**20  # bytes per hour
        self._wear = "measuring"
        self._ctx: HubContext | None = None

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        ctx.spawn("device_health.report", self._loop())

    async def sample(self) -> DeviceHealth:
        health = await asyncio.to_thread(self.sampler.sample)
        health.queue_depth = await _queue_depth(self._ctx)
        return health

    async def report(self) -> dict[str, Any]:
        # One worker-thread hop for both reads: each hop wakes a thread and the loop again (issue 23).
        health, cert = await asyncio.to_thread(lambda: (self.sampler.sample(), describe(self.config)))
        health.queue_depth = await _queue_depth(self._ctx)
        body = health.as_dict()
        body["sd_wear"] = self.judge_wear(health)
        if cert is not None:
            body["certificate"] = {k: cert.get(k) for k in ("state", "days_left", "not_after", "subject", "issuer")}
        return body

    def judge_wear(self, health: DeviceHealth) -> str:
        """"measuring" until the rates cover a whole hour (the first minutes are start-up's writes, tens of
        MB an hour extrapolated from one minute), then "high" above `write_warn_mb_per_h` (the whole
        device's writes when known: every writer wears the card; else the hub's own), else "ok". A change
        is logged once, for the technician."""
        rate = health.storage_written_bytes_per_h
        rate = health.hub_written_bytes_per_h if rate is None else rate
        window = health.write_window_s
        if rate is None or window is None or window < RATE_WINDOW_S:
            return self._wear
        wear = "high" if rate > self.write_warn else "ok"
        if wear != self._wear and (wear == "high" or self._wear == "high"):
            (log.warning if wear == "high" else log.info)(
                "SD 卡写入%s / SD-card writes %s: %.1f MB in the last hour (warning above %.0f MB/h); "
                "check what writes to %s (docs/install.md, Device health)",
                "过多" if wear == "high" else "已恢复正常", "high" if wear == "high" else "back to normal",
                rate / 2**20, self.write_warn / 2**20, health.storage_device or "the card")
        self._wear = wear
        return wear

    async def _loop(self) -> None:
        assert self._ctx is not None
        # The first sample primes the write counters (rates need two); it is shown in status at once and
        # the first report follows within a minute, so a fresh install shows figures quickly.
        self._ctx.set_status("device", await self.report())
        delay = min(self.interval_s, 60.0)
        while True:
            await sleep_aligned(delay)  # on the shared grid (hub.core.ticks), with the other periodic work
            delay = self.interval_s
            try:
                body = await self.report()
                self._ctx.set_status("device", body)
                await self._ctx.raise_event("telemetry.device", body)
            except Exception:  # a health report must never take the hub down
                log.exception("device health report failed")

    async def close(self) -> None:
        self._ctx = None


async def _queue_depth(ctx: HubContext | None) -> int | None:
    """The outbox depth as the hub's status reports it (the coordinator owns the outbox)."""
    status = getattr(ctx, "status", None)
    if status is None or not callable(status):
        return None
    try:
        current = await status()
    except Exception:
        return None
    depth = current.get("queue_depth") if isinstance(current, dict) else None
    return int(depth) if isinstance(depth, int) else None


def build(config: Config, hardware: Hardware) -> DeviceHealthReporter:
    return DeviceHealthReporter(config)
