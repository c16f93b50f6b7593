"""The running hub's side of an update: `cmd/update` (and `update.install` on the control socket for
`hub update --from`), progress as `system.update` events, the wait for open calls and alarms, the
switch and restart; and, when this process is a version on trial, its health check.

Stages, in order: downloading → verifying → installing → [waiting] → restarting, then healthy (sent by
the new version) or rolled_back (sent by the old one once it runs again); failed at any step before the
switch (nothing changed); interrupted when the hub stopped before the switch (kill, crash, power cut:
the journal `pending.json` says which update, and the next start reports it and removes the half
install). The outcome of a switch is carried across the restart by the marker (hub.update.layout), so
every outcome is reported exactly by the version that runs afterwards.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from hub import __version__
from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.events import Event
from hub.update.health import HealthCheck
from hub.update.layout import HEALTHY, TRIAL, Marker, Releases, artifact_name, download_name
from hub.update.release import Release, UpdateError

log = logging.getLogger(__name__)
PROGRESS_STEP = 25  # percent between `downloading` progress events (each one is an outbox commit)
BEFORE_SWITCH = ("downloading", "verifying", "installing", "waiting")  # journalled: a stop here is `interrupted`


class Updater:
    name = "update"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.section = config["update"]
        self.releases = Releases(Path(self.section["root"]))
        self._busy: str | None = None
        self._quiet = asyncio.Event()
        self._ctx: HubContext | None = None
        self._health: HealthCheck | None = None
        self._journal: tuple[str, str] | None = None  # (version, stage) in pending.json
        self._leftover: dict[str, Any] | None = None  # an update the last run did not finish

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        # Before any command can start a new one: what an interrupted update left is removed now.
        self._leftover = await asyncio.to_thread(self._tidy)
        ctx.add_platform_command("update", self._command)
        ctx.add_control_command("update.install", self._control_install)
        ctx.on_event(self._heard)
        ctx.set_status("update", {"stage": "idle"})
        ctx.spawn("update.outcome", self._outcome())

    async def close(self) -> None:
        if self._health is not None:
            self._health.cancel()

    def _tidy(self) -> dict[str, Any] | None:
        try:
            pending = self.releases.pending()
            self.releases.clear_pending()
            removed = self.releases.tidy(__version__) if self.releases.root.is_dir() else []
        except OSError as exc:
            log.warning("update: cannot tidy %s: %s", self.releases.root, exc)
            return None
        if removed:
            log.info("update: removed what an interrupted update left: %s", ", ".join(removed)[:400])
        return pending

    # --- one update, from the platform or a technician's file -------------------------------------
    async def _command(self, body: dict[str, Any]) -> None:
        version = str(body.get("version", "?"))[:40]
        if self._busy == version:  # the platform re-sent it (QoS 1 redelivery, an impatient operator)
            log.info("cmd/update %s: already in progress, repeated command ignored", version)
            return
        try:
            release = Release.parse(body, need_url=True)
            await self._check_root()
            path = await self._download(release)
            await self._prepare(release, path)
        except UpdateError as exc:
            self._busy = None if self._busy == version else self._busy
            await self._report(version, "failed", reason=str(exc))
            return
        await self._switch(release.version)

    async def _control_install(self, request: dict[str, Any]) -> dict[str, Any]:
        """`hub update --from FILE` while the hub runs: verify and install now (the reply says how it
        went), then wait for quiet and switch in the background, like `cmd/update`."""
        version = str(request.get("version", "?"))[:40]
        try:
            release = Release.parse(request, need_url=False)
            await self._check_root()
            await self._prepare(release, Path(str(request.get("path", ""))))
        except UpdateError as exc:
            self._busy = None if self._busy == version else self._busy
            await self._report(version, "failed", reason=str(exc))
            return {"ok": False, "reason": str(exc)}
        busy = self._ctx.alarms.open_alarms() if self._ctx else []
        self._spawn(f"update.switch.{release.version}", self._switch(release.version))
        return {"ok": True, "version": release.version, "waiting_for": [a.type for a in busy]}

    async def _check_root(self) -> None:
        if not await asyncio.to_thread(self.releases.current.is_symlink):
            raise UpdateError(f"{self.releases.current} is not a link: this unit's update root is not set up "
                              "(`hub install` makes it; [update] root in the config)")

    def _claim(self, release: Release) -> None:
        version = release.version
        if self._health is not None and self._health.running:
            raise UpdateError(f"{__version__} is still proving itself after its own update; send it again "
                              "once it reported healthy")
        if self._busy is not None:
            raise UpdateError(f"update to {self._busy} is already in progress")
        if version == __version__:
            raise UpdateError(f"version {version} is already running")
        release.admissible(__version__)
        self._busy = version

    async def _download(self, release: Release) -> Path:
        from hub.update import download  # urllib/http.client: loaded only when an update comes

        self._claim(release)
        dest = self.releases.downloads / download_name(release.version, release.sha256)
        await self._report(release.version, "downloading", progress=0)
        loop = asyncio.get_running_loop()
        last, cancel = [0], threading.Event()

        def progress(got: int, total: int | None) -> None:  # on the download thread, in order
            percent = int(got * 100 / total) if total else 0
            if percent >= last[0] + PROGRESS_STEP and percent < 100:
                last[0] = percent - percent % PROGRESS_STEP
                fields = {"progress": last[0], "bytes": got}
                report = asyncio.run_coroutine_threadsafe(self._report(release.version, "downloading", **fields), loop)
                try:
                    report.result(timeout=60)
                except (RuntimeError, concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                    raise download.Cancelled("the hub is stopping") from None

        try:
            await asyncio.to_thread(download.fetch, release.url, dest, self.section["ca"], progress, size=release.size,
                                    cancel=cancel)
        except (download.DownloadError, download.Cancelled) as exc:
            raise UpdateError(str(exc)) from None
        finally:
            cancel.set()  # cancelled (the hub stops): the thread ends at its next chunk
        await self._report(release.version, "downloading", progress=100, bytes=dest.stat().st_size)
        return dest

    async def _prepare(self, release: Release, artifact: Path) -> None:
        if self._busy != release.version:
            self._claim(release)
        await self._report(release.version, "verifying")
        try:
            await asyncio.to_thread(release.check, artifact, self.section["public_key"])
        except (OSError, UpdateError) as exc:
            if artifact.parent == self.releases.downloads:
                artifact.unlink(missing_ok=True)  # a bad download is not resumed
            raise UpdateError(str(exc) if isinstance(exc, UpdateError) else f"cannot read {artifact}: {exc}") from None
        await self._report(release.version, "installing")
        from hub.update.install import InstallError

        try:
            await asyncio.to_thread(self._install, release.version, artifact)
        except (OSError, InstallError) as exc:
            raise UpdateError(f"install failed: {exc}") from None

    def _install(self, version: str, artifact: Path) -> None:
        from hub.update.install import install

        staged = self.releases.downloads / artifact_name(version)
        if artifact.resolve() != staged.resolve():
            self.releases.downloads.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(artifact, staged)
        install(staged, self.releases.venv(version), Path(self.section["base_venv"]))
        staged.unlink(missing_ok=True)
        if artifact.parent == self.releases.downloads:
            artifact.unlink(missing_ok=True)  # installed: the download is not needed any more

    async def _switch(self, version: str) -> None:
        """Wait until no call or alarm is open, then switch `current` and restart (systemd brings the
        new version up through the link)."""
        assert self._ctx is not None
        said = False
        while open_now := self._ctx.alarms.open_alarms():
            if not said:
                kinds = ", ".join(sorted({a.type for a in open_now}))
                await self._report(version, "waiting", reason=f"{len(open_now)} open call/alarm ({kinds}): the "
                                   "update switches once none is open")
                said = True
            self._quiet.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), timeout=5.0)
        s = self.section
        try:
            await asyncio.to_thread(self.releases.begin_trial, version, __version__, float(s["health_timeout_s"]),
                                    int(s["max_starts"]))
        except OSError as exc:  # the boot guard reports a marker left without its switch
            self._busy = None
            await self._report(version, "failed", reason=f"cannot switch to it: {exc}")
            return
        await self._write_journal(None)  # the marker carries it from here
        await self._report(version, "restarting", from_version=__version__)
        assert self._ctx is not None
        self._ctx.restart(f"update: switched to {version}; systemd starts it")  # a clean shutdown

    def _heard(self, event: Event) -> None:
        self._quiet.set()  # any committed event may have closed an alarm: look again

    # --- after a start: report an outcome, or prove this version --------------------------------
    async def _outcome(self) -> None:
        try:
            marker = await asyncio.to_thread(self.releases.marker)
        except ValueError as exc:
            log.error("%s", exc)
            marker = None
        left = self._leftover
        if left is not None and (marker is None or marker.version != left["version"]):
            stage = str(left.get("stage", "?"))[:20]
            kept = ("the partial download is kept" if stage == "downloading" else "what it had installed was removed")
            await self._report(str(left["version"])[:40], "interrupted",
                               reason=f"the hub stopped during {stage} (a restart, crash or power cut); nothing was "
                               f"switched and {kept}: send cmd/update again (a download resumes where it stopped)")
        if marker is None:
            return
        if marker.state == TRIAL:
            if marker.version != __version__:
                log.warning("update marker: %s on trial, but this is %s (started by hand?): left alone",
                            marker.version, __version__)
                return
            assert self._ctx is not None
            self._health = HealthCheck(self._ctx, marker)
            passed, reason = await self._health.run()
            await self._conclude(marker, passed, reason)
            return
        await self._report(marker.version, marker.state, reason=marker.reason, from_version=marker.from_version)
        await asyncio.to_thread(self.releases.clear_marker)
        removed = await asyncio.to_thread(self.releases.prune)  # the version that failed, if it was installed
        log.info("update: removed %s", removed or "nothing")

    async def _conclude(self, marker: Marker, passed: bool, reason: str) -> None:
        if passed:
            await asyncio.to_thread(self.releases.settle, marker, HEALTHY)
            await self._report(marker.version, HEALTHY, from_version=marker.from_version)
            await asyncio.to_thread(self.releases.clear_marker)
            removed = await asyncio.to_thread(self.releases.prune)
            log.info("update: %s is healthy; removed old versions %s", marker.version, removed or "none")
            return
        log.error("update: %s failed its health check (%s): switching back to %s", marker.version, reason,
                  marker.from_version)
        await asyncio.to_thread(self.releases.roll_back, marker, reason)
        assert self._ctx is not None
        self._ctx.restart(f"update: {marker.version} rolled back")  # the old version starts, reports rolled_back

    # --- events -----------------------------------------------------------------------------------
    async def _report(self, version: str, stage: str, **fields: Any) -> None:
        data = {"version": version, "stage": stage, **{k: v for k, v in fields.items() if v not in (None, "")}}
        assert self._ctx is not None
        if stage in BEFORE_SWITCH and version == self._busy:
            await self._write_journal((version, stage))
        elif stage == "failed" and self._journal is not None and self._journal[0] == version:
            await self._write_journal(None)
        self._ctx.set_status("update", data)
        level = log.error if stage in ("failed", "rolled_back", "interrupted") else log.info
        level("update %s: %s %s", version, stage, data.get("reason", ""))
        await self._ctx.raise_event("system.update", data)

    async def _write_journal(self, entry: tuple[str, str] | None) -> None:
        if entry == self._journal:
            return
        try:
            if entry is None:
                await asyncio.to_thread(self.releases.clear_pending)
            else:
                await asyncio.to_thread(self.releases.write_pending, *entry)
            self._journal = entry
        except OSError as exc:
            log.warning("update: cannot write %s: %s", self.releases.pending_path, exc)

    def _spawn(self, name: str, coro: Any) -> None:
        assert self._ctx is not None
        self._ctx.spawn(name, coro)


def build(config: Config, hardware: Hardware) -> Updater:
    return Updater(config)
