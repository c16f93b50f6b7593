"""The unit's TLS client certificate: its expiry (hub.certificates.x509.describe) in `hub status`
(`certificate`) and device health, a `fault.certificate` when it has expired or is about to, and
rotation on platform command (hub/certificates/rotation.py). Built only when the hub connects over TLS.

Expiry is judged on the hub's clock and checked again the moment that clock is stepped (NTP after a
boot without network, a wrong RTC corrected): a false "expired" after a wrong date clears at once,
not at the next hourly check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from hub.certificates.rotation import CertRotation
from hub.certificates.x509 import describe
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext

log = logging.getLogger(__name__)

FAULTY = ("expires_soon", "expired")


class Certificates:
    name = "certificates"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.interval_s = float(config["certificates"]["check_interval_s"])
        self._ctx: HubContext | None = None
        self.rotation: CertRotation | None = None
        self._fault: tuple[str, str, str] | None = None  # (event id, serial, state) of the standing fault
        self._check_now = asyncio.Event()

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.rotation = CertRotation(self.config, ctx, self.recheck)
        ctx.add_platform_command("rotate_cert", self.rotation.rotate)
        ctx.add_platform_command("install_cert", self.rotation.install)
        await self.rotation.start()
        self._loop = asyncio.get_running_loop()
        ctx.clock.on_step(self._clock_stepped)
        await self.check()  # in status from the start
        ctx.spawn("certificates.expiry", self._watch())

    async def recheck(self) -> None:
        self._check_now.set()

    def _clock_stepped(self, step_s: float) -> None:
        # Told on the thread that saw the step (gpiozero's, stamping motion): the Event is set on its loop.
        log.info("wall clock stepped %+.0f s: checking the certificate's expiry again now", step_s)
        self._loop.call_soon_threadsafe(self._check_now.set)

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check_now.wait(), self.interval_s)
            self._check_now.clear()
            try:
                await self.check()
            except Exception:  # an expiry check must never take the hub down
                log.exception("certificate expiry check failed")

    async def check(self) -> dict[str, Any] | None:
        assert self._ctx is not None
        info = await asyncio.to_thread(describe, self.config, self._ctx.clock.now())
        if info is None:
            return None  # TLS without a client certificate: cmd/rotate_cert says so
        self._ctx.set_status("certificate", info)
        if info["state"] == "unreadable":
            return info
        state = info["state"]
        if state in FAULTY and (self._fault is None or self._fault[1:] != (info["serial"], state)):
            log.error("client certificate %s: %s", info["path"], info["remedy"])
            event = await self._ctx.raise_event("fault.certificate", {
                "state": state, "days_left": info["days_left"], "not_after": info["not_after"],
                "subject": info["subject"], "issuer": info["issuer"], "serial": info["serial"],
                "remedy": info["remedy"]})
            self._fault = (event.id, info["serial"], state)
        elif state not in FAULTY and self._fault is not None:
            fault_id, _, kind = self._fault
            self._fault = None
            await self._ctx.raise_event("fault.cleared", {"component": "certificate", "part": info["subject"],
                                                          "kind": kind, "fault_id": fault_id})
        elif state == "expiring":
            log.warning("client certificate %s: %s", info["path"], info["remedy"])
        return info

    async def close(self) -> None:
        self._ctx = None


def build(config: Config, hardware: Hardware) -> Certificates | None:
    if not config["mqtt"].get("tls"):
        return None  # no TLS: cmd/rotate_cert is unknown here
    return Certificates(config)
