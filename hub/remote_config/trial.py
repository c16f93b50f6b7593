"""After the restart onto a new config: the trial, and the rollback (a mixin of
hub.remote_config.component.RemoteConfig).

`_resume` picks the change up where the last run stopped (journal first, so a power cut anywhere ends
in a named state); `_on_trial` confirms it once the hub is on the broker — for a change of broker or its
login, only once the broker proof holds (hub.remote_config.probe) — within `rollback_after_s`, never
more than ROLLBACK_CEILING_S; else `_roll_back` writes the previous file back and the hub restarts on it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.config.loader import Config
from hub.core.context import HubContext
from hub.core.uplink.hold import write_hold
from hub.remote_config import document
from hub.remote_config.journal import Journal, sha256, write_config
from hub.remote_config.probe import BrokerProof
from hub.remote_config.schema import ROLLBACK_CEILING_S

log = logging.getLogger(__name__)

MAX_TRIAL_STARTS = 3  # starts on a new config without reaching the broker before it is rolled back
POLL_S = 0.5


class AfterRestart:
    config: Config
    journal: Journal
    proof: BrokerProof
    _ctx: HubContext | None
    _waiting_for: str

    def _report(self, version: int | None, result: str, *, changed: list[str] | None = None, reason: str = "",
                key: str = "", ts: str = "") -> None:
        raise NotImplementedError

    def _restart(self, reason: str) -> None:
        raise NotImplementedError

    def _show(self) -> None:
        raise NotImplementedError

    async def _finish(self, version: int, result: str, changed: list[str]) -> None:
        raise NotImplementedError

    def _resume(self, when: str) -> str:
        """Pick up a change where the last run stopped (in a thread: reads and fsyncs): 'restart' (the
        previous file is written back), 'trial' (a new file to confirm) or 'done'."""
        assert self.journal.pending is not None
        pending = self.journal.pending
        version = int(pending["version"])
        current = sha256(self.config.path)
        if pending.get("phase") == "rolling_back":
            if current != pending["previous_sha256"]:  # stopped before the old file was back
                return self._roll_back(pending["reason"])
            log.warning("config version %d rolled back: %s", version, pending["reason"])
            self.journal.seen_version = max(self.journal.seen_version, version)
            self.journal.pending = None
            self._report(version, "rolled_back", changed=pending["changed"], reason=pending["reason"], ts=when)
            self.journal.save()
            self.journal.forget_previous()
            return "done"
        action = "done"
        if current == pending["previous_sha256"]:
            log.info("config version %d was not written before the hub stopped: applied again when the "
                     "platform's document arrives", version)
            self.journal.pending = None
        elif current != pending["new_sha256"]:
            log.warning("hub.toml was changed by someone else while config version %d was applied: kept as it "
                        "is, no rollback", version)
            self.journal.seen_version = max(self.journal.seen_version, version)
            self.journal.pending = None
        elif pending["result"] == "applied":  # a live change: this run read the new file at start
            self.journal.seen_version = self.journal.applied_version = version
            self.journal.pending = None
            self._report(version, "applied", changed=pending["changed"], ts=when)
        else:
            pending["starts"] = int(pending.get("starts", 0)) + 1
            if pending["starts"] > MAX_TRIAL_STARTS:
                return self._roll_back(f"the hub started {MAX_TRIAL_STARTS} times on config version {version} "
                                       f"without reaching the broker")
            action = "trial"
        self.journal.save()
        return action

    async def _on_trial(self, pending: dict[str, Any]) -> None:
        assert self._ctx is not None
        version = int(pending["version"])
        limit = min(float(pending["rollback_after_s"]), ROLLBACK_CEILING_S)  # a file cannot keep it longer
        broker = any(key in document.BROKER for key in pending["changed"])
        log.info("config version %d on trial: the broker must be reached%s within %.0f s (start %d)", version,
                 " and the platform must acknowledge the hub's probe through it" * broker, limit, pending["starts"])
        if broker:
            self._waiting_for = f"version {version}: the platform's ack through the new broker"
            self._show()
        deadline = self._ctx.clock.monotonic() + limit
        while self._ctx.clock.monotonic() < deadline:
            if self._ctx.online and broker and self.proof.version != version:
                self.proof.begin(version)
            if self._ctx.online and (not broker or self.proof.proven):
                log.info("config version %d confirmed: %s", version, "the probe came back through the new broker "
                         "and the platform acknowledged it" if broker else "connected to the broker")
                self.proof.end()
                self._ctx.hold_events("")
                self._waiting_for = ""
                await self._finish(version, "applied_restart", pending["changed"])
                return
            await asyncio.sleep(POLL_S)
        why = self.proof.why_not() if broker else "no connection to the broker"
        self.proof.end()
        reason = (f"{why} within {limit:.0f} s of starting "
                  f"with config version {version} (changed: {', '.join(pending['changed'])})")
        await asyncio.to_thread(self._roll_back, reason)
        self._restart(f"config version {version} rolled back")

    def _roll_back(self, reason: str) -> str:
        """Journal the rollback, then write the previous file back (in a thread); the caller restarts."""
        assert self.journal.pending is not None
        pending = self.journal.pending
        log.error("rolling back config version %s: %s", pending["version"], reason)
        pending["phase"], pending["reason"] = "rolling_back", reason
        self.journal.save()
        previous = self.journal.previous_path.read_bytes()
        write_config(self.config.path, previous)
        write_hold(self.config.state_dir, "")  # the held events go to the old broker
        return "restart"
