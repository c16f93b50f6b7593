"""Set-up mode in the running hub: entered by a 10 s hold of the set-up button within the first minutes
after start, by `hub setup-mode start` (control socket), or — with no config at all — by `hub run` on first
boot (hub.provision.web.first_boot); left after "done", `hub setup-mode stop` or `timeout_min`.

While it is on, the hotspot is up and the page listens on `[setup_mode] address` only; outside it nothing
listens. Calls, alarms and the uplink carry on as always: set-up mode is a page, not a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.events import Event
from hub.provision.web import hotspot

if TYPE_CHECKING:  # the page's code (bundle checks, writer, aiohttp) loads only when set-up mode is entered
    from hub.provision.web.actions import HubActions
    from hub.provision.web.guard import Guard
    from hub.provision.web.label import Label

log = logging.getLogger(__name__)


class _Buttons(Protocol):
    """The call buttons' owner (hub.calls, through ctx.component)."""

    def held_since(self, pin: int) -> float | None: ...


class SetupMode:
    name = "setup_mode"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.cfg = config["setup_mode"]
        first_call_button = int(config["buttons"][0]["pin"]) if config["buttons"] else 0
        self.pin = int(self.cfg["button_pin"]) or first_call_button
        self.dedicated = bool(self.cfg["button_pin"])
        self.actions: HubActions | None = None
        self.guard: Guard | None = None
        self.label: Label | None = None
        self.until: float | None = None
        self._ctx: HubContext | None = None
        self._runner: Any = None
        self._hold: asyncio.TimerHandle | None = None
        self._timeout: asyncio.Task[Any] | None = None
        self._button: Any = None
        self._started_at = 0.0
        self._closed = False

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._started_at = ctx.clock.monotonic()
        ctx.add_control_command("setup.start", lambda r: self.enter("command"))
        ctx.add_control_command("setup.stop", lambda r: self.leave("command"))
        ctx.add_control_command("setup.status", self._status_request)
        ctx.on_event(self._on_event)
        if self.dedicated:
            self._watch_dedicated(ctx)
        elif self.pin:
            ctx.on_button(self._on_button)
            # A hold that began before this component started (at power-on, or while the hub was still
            # starting) sends no "press" now: it is timed from when the button owner saw it go down.
            buttons: _Buttons | None = ctx.component("calls")
            since = buttons.held_since(self.pin) if buttons is not None else None
            if since is not None:
                self._time_hold(since)
        self._publish()

    def _watch_dedicated(self, ctx: HubContext) -> None:
        """A button of its own (to ground, pulled up, 50 ms debounce): held for hold_s, timed on the loop."""
        loop = asyncio.get_running_loop()

        def changed(high: bool) -> None:  # the GPIO library's alert thread
            loop.call_soon_threadsafe(self._dedicated_edge, not high)

        self._button = ctx.hardware.gpio.input(self.pin, pull_up=True, bounce_ms=50, on_change=changed)
        if not self._button.value:  # held since before the hub ran: no edge comes, the hold counts from now
            self._dedicated_edge(True)

    def _dedicated_edge(self, pressed: bool) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        if pressed and not self._closed:
            self._time_hold(self._require_ctx().clock.monotonic())

    def _time_hold(self, pressed_mono: float) -> None:
        """The hold enters set-up mode `hold_s` after the press began, unless it is released first."""
        if self._hold is not None:
            self._hold.cancel()
        left = float(self.cfg["hold_s"]) - (self._require_ctx().clock.monotonic() - pressed_mono)
        self._hold = asyncio.get_running_loop().call_later(max(0.0, left), self._held)

    def _on_button(self, pin: int, action: str) -> None:
        if pin != self.pin:
            return
        if action == "press" and self._in_window():
            self._time_hold(self._require_ctx().clock.monotonic())
        elif action == "release" and self._hold is not None:
            self._hold.cancel()
            self._hold = None

    def _require_ctx(self) -> HubContext:
        assert self._ctx is not None, "set-up mode has not started"
        return self._ctx

    def _in_window(self) -> bool:
        assert self._ctx is not None
        return self._ctx.clock.monotonic() - self._started_at <= float(self.cfg["start_window_s"])

    def _held(self) -> None:
        self._hold = None
        if self._in_window() and self._ctx is not None:
            self._ctx.spawn("setup_mode.enter", self.enter("button"))

    def _on_event(self, event: Event) -> None:
        if event.type.startswith("measurement.") and self._runner is not None and self.actions is not None:
            keep = ("systolic", "diastolic", "pulse", "grade", "mmol_per_l", "category", "meter")
            self.actions.last_reading = {"type": event.type, **{k: event.data[k] for k in keep if k in event.data}}

    async def enter(self, reason: str) -> dict[str, Any]:
        ctx = self._ctx
        assert ctx is not None
        if not self.cfg["enabled"]:
            raise ControlError("set-up mode is switched off in this unit's config ([setup_mode] enabled)")
        if self._runner is not None:
            return self._status_now()
        from hub.provision.web.actions import HubActions
        from hub.provision.web.guard import Guard
        from hub.provision.web.label import load_or_create, path_for

        if self.actions is None:
            self.actions = HubActions(self.config.path, str(self.config.state_dir), self.cfg["ifname"])
            self.actions.on_done = self.done
        self.label = await asyncio.to_thread(load_or_create, path_for(self.config.path))
        if self.cfg["hotspot"]:
            try:
                await hotspot.start(self.cfg["ifname"], self.ssid(), self.label.hotspot_password)
            except hotspot.NmcliError as exc:
                log.error("set-up mode: the hotspot did not start: %s", exc)
                raise ControlError(f"热点未启动 / the hotspot did not start: {exc}") from None
        from aiohttp import web

        from hub.provision.web.app import make_app

        self.guard = Guard(self.label.setup_code)
        runner = web.AppRunner(make_app(self.guard, self.actions, self.hello), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.cfg["address"], int(self.cfg["port"])).start()
        except OSError as exc:
            await runner.cleanup()
            raise ControlError(f"the set-up page could not listen on {self.cfg['address']}:{self.cfg['port']}: "
                               f"{exc}") from None
        self._runner = runner
        self.until = ctx.clock.monotonic() + float(self.cfg["timeout_min"]) * 60
        self._timeout = ctx.spawn("setup_mode.timeout", self._expire())
        log.info("set-up mode on (%s): http://%s:%s/", reason, self.cfg["address"], self.cfg["port"])
        ctx.say("setup_mode_on")
        self._publish()
        return self._status_now()

    async def _expire(self) -> None:
        await asyncio.sleep(float(self.cfg["timeout_min"]) * 60)
        await self.leave("timeout")

    async def leave(self, reason: str) -> dict[str, Any]:
        if self._runner is None:
            return self._status_now()
        runner, self._runner = self._runner, None
        # A config saved on the page and left without "Finish" (stop, timeout): run on it now, as Finish
        # does, rather than keep the old one while the new file waits for some later power cut to take over.
        apply_saved = reason not in ("done", "shutdown") and self.actions is not None and self.actions.provisioned_now
        if self.guard is not None:
            self.guard.end()
        if self._timeout is not None and self._timeout is not asyncio.current_task():
            self._timeout.cancel()
        await runner.cleanup()
        if self.cfg["hotspot"]:  # already down if the unit joined the home's Wi-Fi on that interface: fine
            with contextlib.suppress(hotspot.NmcliError):
                await hotspot.stop()
        self.until = None
        log.info("set-up mode off (%s)", reason)
        if self._ctx is not None and not self._closed:
            self._ctx.say("setup_mode_off")
        self.actions = None  # the next time starts afresh: no Wi-Fi or reading from this one
        self._publish()
        if apply_saved and self._ctx is not None and not self._closed:
            self._ctx.restart(f"the config saved on the set-up page takes effect: set-up mode left without Finish "
                              f"({reason})")
        return {**self._status_now(), "reason": reason, "applying_saved_config": apply_saved}

    async def done(self) -> dict[str, Any]:
        """The installer is finished: the provisioning record to the platform, a summary, then off."""
        assert self.actions is not None
        status = await self.actions.status()
        with contextlib.suppress(Exception):
            await self.actions.control({"cmd": "provision.report"}, 30)
        summary = {**status, "serial": self.label.serial if self.label else None}
        assert self._ctx is not None
        self._ctx.spawn("setup_mode.leave", self._leave_soon())
        if self.actions.provisioned_now:
            self._ctx.restart("provisioned from the set-up page")
        return summary

    async def _leave_soon(self) -> None:
        await asyncio.sleep(1.0)  # the page gets its answer first
        await self.leave("done")

    def ssid(self) -> str:
        return f"{self.cfg['ssid_prefix']}{self.label.serial if self.label else ''}"

    def hello(self) -> dict[str, Any]:
        from hub.provision.fields import secret_paths

        return {"serial": self.label.serial if self.label else None, "hub_id": self.config.hub_id,
                "secrets": sorted(secret_paths())}

    def _status_now(self) -> dict[str, Any]:
        left, ends = None, None
        if self.until is not None and self._ctx is not None:
            left = max(0, round(self.until - self._ctx.clock.monotonic()))
            ends = (self._ctx.clock.now() + timedelta(seconds=left)).isoformat(timespec="seconds")
        return {"on": self._runner is not None, "url": f"http://{self.cfg['address']}:{self.cfg['port']}/",
                "ssid": self.ssid() if self.label and self.cfg["hotspot"] else None,  # no hotspot: no Wi-Fi name
                "seconds_left": left, "ends_at": ends}

    async def _status_request(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._status_now()

    def _publish(self) -> None:
        """The status keeps this until the next change: the time set-up mode ends, never a count of seconds
        left, which `hub status` would show unchanged ten minutes later."""
        if self._ctx is not None:
            now = self._status_now()
            del now["seconds_left"]
            self._ctx.set_status("setup_mode", now, now=True)

    async def close(self) -> None:
        self._closed = True
        if self._hold is not None:
            self._hold.cancel()
        await self.leave("shutdown")
        if self._button is not None:
            self._button.close()
            self._button = None


def build(config: Config, hardware: Hardware) -> SetupMode | None:
    return SetupMode(config) if config["setup_mode"]["enabled"] else None
