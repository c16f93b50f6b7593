"""Remote configuration on the running hub: hear `config/desired`, apply it, say so on `config/reported`.

One document at a time, newest first. A change whose keys are all live (document.LIVE) is written and
set in the shared config tables at once. Any other change waits until no alarm or call is open (a
restart must never cut one short), keeps the current file, journals the change, writes the new file and
stops cleanly; systemd starts the hub again on it (Restart=always). On that start the change is on
trial: back on the broker within the rollback time (set before the change) and it is confirmed
(`applied_restart`); not, or the hub keeps restarting without getting there, and the previous file is
written back and the hub restarts on it (`rolled_back`, reported once the link is back). Every step is
journalled first (hub.remote_config.journal), so a power cut at any point ends in one of those results.
A change of broker or broker login is confirmed only by the broker proof (hub.remote_config.probe). Only
keys on the allowlist (hub.remote_config.allowlist) are taken; the unit's wiring (buttons, pins) is held
until a technician confirms it at the unit (`hub config apply`). A refused document does not advance
the version: a later, valid one still applies.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import iso_ms, now_local
from hub.core.uplink.hold import write_hold
from hub.remote_config import document
from hub.remote_config.confirm import LocalConfirmation
from hub.remote_config.document import Plan, Refusal
from hub.remote_config.journal import Journal, digest, render, write_config
from hub.remote_config.probe import BrokerProof
from hub.remote_config.trial import POLL_S, AfterRestart

log = logging.getLogger(__name__)

DESIRED = "config/desired"
REPORTED = "config/reported"
QUIET_S = 5.0  # after the last open alarm closes, before a restart (the resident hears who answered)


class RemoteConfig(LocalConfirmation, AfterRestart):
    name = "remote_config"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.journal = Journal.load(config.state_dir)
        self._ctx: HubContext | None = None
        self._latest: bytes | None = None  # the newest desired payload not yet handled
        self._wake = asyncio.Event()
        self._trial: asyncio.Task[None] | None = None
        self._waiting_for = ""
        self._restarting = False  # a restart is requested: no further document is touched
        self._confirmed: int | None = None  # the held version a technician confirmed (`hub config apply`)
        self.proof = BrokerProof()

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self.proof.start(ctx)
        ctx.add_control_command("remote_config.apply", self._apply_held)
        if (pending := self.journal.pending) is not None:
            action = await asyncio.to_thread(self._resume, self._now())
            if action == "restart":  # the old file is back: run on it
                self._restart(f"finishing the rollback of config version {pending['version']}")
                return
            if action == "trial":
                self._trial = ctx.spawn("remote_config.trial", self._on_trial(pending))
        if self._trial is None:
            ctx.hold_events("")  # no broker on trial: nothing holds the outbox (a cut before the file was written)
        self._show()
        if self.journal.report is not None:
            ctx.publish_retained(REPORTED, self.journal.report)
        if not self.config["remote_config"]["enabled"]:
            log.info("remote configuration is off ([remote_config] enabled = false)")
            return
        ctx.watch_topic(DESIRED, self._received)
        ctx.spawn("remote_config.desired", self._run())

    async def close(self) -> None:
        if self._trial is not None:
            self._trial.cancel()

    def _received(self, payload: bytes) -> None:
        self._latest = payload
        self._wake.set()

    async def _run(self) -> None:
        while not self._restarting:
            if self._trial is not None:
                await asyncio.wait([self._trial])  # a new document waits for the one on trial
            await self._wake.wait()
            self._wake.clear()
            payload, self._latest = self._latest, None
            if payload is None or self._restarting:
                continue
            try:
                await self._handle(payload)
            except Exception:  # a document must never stop the hub
                log.exception("remote configuration failed on a desired document; it is ignored")

    # --- a desired document -------------------------------------------------------------------------
    async def _handle(self, payload: bytes) -> None:
        if not payload:
            log.info("the platform cleared %s: nothing changes", DESIRED)
            return
        try:
            desired = document.parse(payload, int(self.config["remote_config"]["max_bytes"]))
            if desired.version <= self.journal.seen_version:
                log.info("desired config version %d is not newer than %d: ignored", desired.version,
                         self.journal.seen_version)
                return
            if self._answered(desired.version):
                return
            plan = await asyncio.to_thread(document.plan_file, self.config, desired)
        except Refusal as refusal:
            await self._refuse(refusal)
            return
        try:
            if plan.confirm and self._confirmed != plan.version:
                await self._hold(plan, payload)
                return
            self.journal.held = None
            if not plan.changed:
                await self._finish(plan.version, "unchanged", [])
            elif plan.live:
                await self._apply_live(plan)
            else:
                await self._apply_restart(plan)
        except OSError as exc:  # a full or failing card: nothing half-applied stays pending in this run
            self.journal.pending = None
            hint = " (`hub install` makes the config directory root:eldercare 0770)" * isinstance(exc, PermissionError)
            await self._refuse(Refusal(plan.version, "(file)", f"cannot write {exc.filename or 'the config'}: "
                                                                f"{exc.strerror or exc}; nothing was changed{hint}"))

    async def _refuse(self, refusal: Refusal) -> None:
        log.warning("refused desired config version %s: %s: %s", refusal.version, refusal.key, refusal.reason)
        self._report(refusal.version, "refused", reason=f"{refusal.key}: {refusal.reason}", key=refusal.key)
        try:
            await asyncio.to_thread(self.journal.save)
        except OSError as exc:
            log.error("cannot save %s (%s): the refusal is reported but not remembered", self.journal.path, exc)
        self._publish()

    async def _apply_live(self, plan: Plan) -> None:
        await asyncio.to_thread(self._write, plan, "applied", self._now())
        for key in plan.changed:
            section, name = key.split(".", 1)
            self.config.data[section][name] = plan.effective[section][name]
            if key == "hub.log_level":
                logging.getLogger().setLevel(plan.effective["hub"]["log_level"])
        log.info("config version %d applied live: %s", plan.version, ", ".join(plan.changed))
        await self._finish(plan.version, "applied", plan.changed)

    async def _apply_restart(self, plan: Plan) -> None:
        assert self._ctx is not None
        if not await self._quiet(plan.version):
            return  # a newer document came meanwhile: it is handled instead
        await asyncio.to_thread(self._write, plan, "applied_restart", self._now())
        self._restart(f"config version {plan.version} changes {', '.join(plan.changed)} (read at start-up)")

    def _restart(self, reason: str) -> None:
        assert self._ctx is not None
        self._restarting = True
        self._ctx.restart(reason)

    def _write(self, plan: Plan, result: str, when: str) -> None:
        """Journal the change, then write hub.toml (off the loop: fsyncs)."""
        path = self.config.path
        before = path.read_bytes()
        content = render(plan.merged, plan.version, when)
        if result == "applied_restart":
            self.journal.keep_previous(before)
        self.journal.pending = {
            "version": plan.version, "result": result, "phase": "apply", "changed": plan.changed,
            "previous_version": self.journal.applied_version, "previous_sha256": digest(before),
            "new_sha256": digest(content), "starts": 0,
            "rollback_after_s": self.config["remote_config"]["rollback_after_s"]}
        self.journal.save()
        if result == "applied_restart" and plan.broker:  # held from the first connection to the new broker
            write_hold(self.config.state_dir, f"config version {plan.version} moves the broker: events wait "
                                              "until the platform acknowledges the hub through it")
        write_config(path, content)

    async def _quiet(self, version: int) -> bool:
        """Wait until no alarm or call is open (and QUIET_S more); False if a newer document arrived."""
        assert self._ctx is not None
        quiet_since: float | None = None
        while self._latest is None:
            now = self._ctx.clock.monotonic()
            if self._ctx.alarms.open_alarms():
                if not self._waiting_for:
                    log.info("config version %d needs a restart: waiting until no alarm or call is open", version)
                    self._waiting_for = f"version {version}: open alarms"
                    self._show()
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now if self._waiting_for else now - QUIET_S
            elif now - quiet_since >= QUIET_S:
                break
            await asyncio.sleep(POLL_S)
        self._waiting_for = ""
        return self._latest is None

    async def _finish(self, version: int, result: str, changed: list[str]) -> None:
        self.journal.seen_version = max(self.journal.seen_version, version)
        self.journal.applied_version = version
        self.journal.pending = self.journal.held = None
        self._report(version, result, changed=changed)
        try:
            await asyncio.to_thread(self.journal.save)
            await asyncio.to_thread(self.journal.forget_previous)
        except OSError as exc:  # the change is in effect; the next start finds the file and reports it
            log.error("cannot save %s (%s)", self.journal.path, exc)
        self._publish()

    # --- reporting ------------------------------------------------------------------------------------
    def _report(self, version: int | None, result: str, *, changed: list[str] | None = None, reason: str = "",
                key: str = "", ts: str = "") -> None:
        self.journal.report = document.report(self.config, version, result, self.journal.applied_version,
                                              changed or [], ts or self._now(), reason, key)

    def _publish(self) -> None:
        assert self._ctx is not None
        if self.journal.report is not None:
            self._ctx.publish_retained(REPORTED, self.journal.report)
        self._show()

    def _show(self) -> None:
        if self._ctx is None:
            return
        status: dict[str, Any] = {"version": self.journal.applied_version}
        if self.journal.report is not None:
            status["last"] = {k: self.journal.report[k] for k in ("version", "result", "ts")}
        if self._waiting_for:
            status["waiting"] = self._waiting_for
        self._ctx.set_status("config", status)


    def _now(self) -> str:
        return iso_ms(self._ctx.clock.now() if self._ctx is not None else now_local())


def build(config: Config, hardware: Hardware) -> RemoteConfig:
    return RemoteConfig(config)

