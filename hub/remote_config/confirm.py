"""Wiring changes wait for a technician at the unit: the platform's document that changes buttons or
pins (hub.remote_config.allowlist CONFIRM) is held — reported `held`, journalled, not applied, its
version not used up — until `hub config apply` on the unit confirms it through the control socket;
then it goes through the ordinary path (journal, restart once no alarm is open, trial, rollback).
A mixin of hub.remote_config.component.RemoteConfig.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.core.control import ControlError
from hub.remote_config.document import Plan
from hub.remote_config.journal import Journal

log = logging.getLogger(__name__)


class LocalConfirmation:
    journal: Journal
    _confirmed: int | None  # the held version a technician confirmed
    _restarting: bool
    _trial: asyncio.Task[None] | None
    _latest: bytes | None
    _wake: asyncio.Event

    def _report(self, version: int | None, result: str, *, changed: list[str] | None = None, reason: str = "",
                key: str = "", ts: str = "") -> None:
        raise NotImplementedError

    def _publish(self) -> None:
        raise NotImplementedError

    def _answered(self, version: int) -> bool:
        """The retained document comes again on every connect: one already refused or held for
        confirmation is not answered twice (neither advanced the version, so a newer one still applies)."""
        last = self.journal.report or {}
        result = last.get("result") if last.get("version") == version else None
        if result == "refused" or (result == "held" and self._confirmed != version):
            log.info("desired config version %d was %s already: not answered again", version, result)
            return True
        return False

    async def _hold(self, plan: Plan, payload: bytes) -> None:
        keys = ", ".join(plan.confirm)
        log.warning("config version %d changes the unit's wiring (%s): held until a technician runs "
                    "`hub config apply` on the unit", plan.version, keys)
        self.journal.held = {"version": plan.version, "payload": payload.decode("utf-8"), "confirm": plan.confirm,
                             "changed": plan.changed}
        self._report(plan.version, "held", changed=plan.changed, key=plan.confirm[0],
                     reason=f"{keys}: the unit's wiring: pending local confirmation (a technician runs "
                            f"`hub config apply` on the unit)")
        await asyncio.to_thread(self.journal.save)
        self._publish()

    async def _apply_held(self, request: dict[str, Any]) -> dict[str, Any]:
        """`hub config apply`: the technician at the unit confirms the held document (or `show` it)."""
        held = self.journal.held
        if held is None:
            raise ControlError("no configuration from the platform is waiting for confirmation")
        answer = {k: held[k] for k in ("version", "confirm", "changed")}
        if request.get("show"):
            return answer
        if self._restarting or (self._trial is not None and not self._trial.done()):
            raise ControlError("another configuration change is under way: try again in a few minutes")
        log.warning("config version %s confirmed at the unit (hub config apply): %s", held["version"],
                    ", ".join(held["confirm"]))
        self._confirmed = int(held["version"])
        self._latest = held["payload"].encode("utf-8")
        self._wake.set()
        return answer
