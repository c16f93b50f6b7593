"""The self-test inside the running hub: it owns the GPIO lines, so `hub selftest` and the provisioning
wizard ask it through `state_dir/selftest.sock` (same line protocol as the control socket), and the
platform asks through `cmd/selftest`. Every automatic run is published as `system.selftest`.

Requests on the socket:
  {"cmd": "auto", "only": null}                 automatic checks -> summary (and system.selftest)
  {"cmd": "steps", "only": null}                the guided steps for this hub's hardware
  {"cmd": "guided", "index": N, "timeout": 30}  watch step N's line until the person acts
  {"cmd": "say_test"}                           speak the test prompt
  {"cmd": "call_arm"} / {"cmd": "call_wait", "token": T, "timeout": 120}
                                                the wizard's test call: the next call.raised, then its
                                                call.acknowledged from the platform
  {"cmd": "report_provisioned"}                 publish a fresh provisioning report now
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hub.config import Config
from hub.context import Hardware, HubContext
from hub.control import ControlError, ControlServer
from hub.events import Event
from hub.selftest import run_automatic, summary
from hub.selftest_guided import GuidedStep, guided_steps, watch_step
from hub.selftest_model import COMPONENTS, Env

log = logging.getLogger(__name__)
SOCKET_NAME = "selftest.sock"


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


class SelfTestComponent:
    name = "selftest"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._ctx: HubContext | None = None
        self._env: Env | None = None
        self._server: ControlServer | None = None
        self._lock = asyncio.Lock()  # a technician and the platform never drive the checks at once
        self._armed: dict[str, dict[str, Any]] = {}

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._env = Env(self.config, ctx.hardware)
        ctx.add_platform_command("selftest", self._platform)
        ctx.on_event(self._on_event)
        self._server = ControlServer(
            socket_path(self.config.state_dir),
            {
                "auto": self._auto,
                "steps": self._steps,
                "guided": self._guided,
                "say_test": self._say_test,
                "call_arm": self._call_arm,
                "call_wait": self._call_wait,
                "report_provisioned": self._report_provisioned,
            },
        )
        await self._server.start()

    async def run(self, only: str | None, trigger: str) -> dict[str, Any]:
        assert self._env is not None and self._ctx is not None
        async with self._lock:
            results = await run_automatic(self._env, only, owned=True)
        report = summary(results)
        report.update(trigger=trigger, only=only, simulated=self._env.simulated)
        await self._ctx.raise_event("system.selftest", report)
        return report

    async def _platform(self, body: dict[str, Any]) -> None:
        only = body.get("only")
        if only is not None and only not in COMPONENTS:
            log.warning("cmd/selftest: unknown component %r ignored, running all", only)
            only = None
        await self.run(only, "platform")

    async def _auto(self, request: dict[str, Any]) -> dict[str, Any]:
        only = request.get("only")
        try:
            return await self.run(str(only) if only else None, "local")
        except ValueError as exc:
            raise ControlError(str(exc)) from None

    def _guided_steps(self, only: Any) -> list[GuidedStep]:
        assert self._env is not None
        return guided_steps(self._env, str(only) if only else None)

    async def _steps(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self._guided_steps(request.get("only"))]}

    async def _guided(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._env is not None
        steps = self._guided_steps(request.get("only"))
        index = request.get("index")
        if not isinstance(index, int) or not 0 <= index < len(steps) or steps[index].pin is None:
            raise ControlError(f"no watched guided step {index!r}")
        timeout = min(float(request.get("timeout") or 30.0), 300.0)
        return (await watch_step(self._env, steps[index], timeout, owned=True)).as_dict()

    async def _say_test(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._ctx is not None
        self._ctx.say("test_prompt")
        return {"said": "test_prompt"}

    async def _report_provisioned(self, request: dict[str, Any]) -> dict[str, Any]:
        """The wizard wrote its report (with the live-check results) after this hub started: send it now."""
        from hub.provision.reporter import ProvisionReporter

        assert self._ctx is not None
        reporter = ProvisionReporter(self.config)
        pending = reporter.pending() is not None
        await reporter.report(self._ctx)
        return {"published": pending}

    # --- the wizard's test call ----------------------------------------------------------------
    async def _call_arm(self, request: dict[str, Any]) -> dict[str, Any]:
        token = secrets.token_hex(6)
        loop = asyncio.get_running_loop()
        self._armed[token] = {
            "raised": loop.create_future(),
            "acked": loop.create_future(),
            "armed_at": time.monotonic(),
            "call_id": None,
        }
        return {"token": token}

    def _on_event(self, event: Event) -> None:
        for slot in self._armed.values():
            if event.type == "call.raised" and slot["call_id"] is None:
                slot["call_id"] = event.id
                slot["raised_at"] = time.monotonic()
                if not slot["raised"].done():
                    slot["raised"].set_result(event.id)
            elif (
                event.type == "call.acknowledged"
                and event.data.get("call_id") == slot["call_id"]
                and not slot["acked"].done()
            ):
                slot["acked"].set_result((time.monotonic(), event.data.get("by")))

    async def _call_wait(self, request: dict[str, Any]) -> dict[str, Any]:
        slot = self._armed.get(str(request.get("token")))
        if slot is None:
            raise ControlError("unknown test-call token; arm it first")
        timeout = min(float(request.get("timeout") or 120.0), 600.0)
        try:
            call_id = await asyncio.wait_for(asyncio.shield(slot["raised"]), timeout)
            acked_at, by = await asyncio.wait_for(asyncio.shield(slot["acked"]), timeout)
        except TimeoutError:
            stage = "acknowledged" if slot["raised"].done() else "raised"
            return {
                "ok": False,
                "call_id": slot["call_id"],
                "stage": stage,
                "error": f"no call {stage} within {timeout:.0f} s",
            }
        finally:
            self._armed.pop(str(request.get("token")), None)
        return {
            "ok": True,
            "call_id": call_id,
            "by": by,
            "ack_round_trip_ms": round((acked_at - slot["raised_at"]) * 1000),
        }

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None
        for slot in self._armed.values():
            for key in ("raised", "acked"):
                with contextlib.suppress(asyncio.InvalidStateError):
                    slot[key].cancel()
        self._armed.clear()
        self._ctx = None


def build(config: Config, hardware: Hardware) -> SelfTestComponent:
    return SelfTestComponent(config)
