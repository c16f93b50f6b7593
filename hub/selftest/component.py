"""The self-test inside the running hub: it owns the GPIO lines, so `hub selftest`, `hw-tests/` and the
provisioning wizard ask it through the hub's control socket (`state_dir/control.sock`), and the
platform asks through `cmd/selftest`. Every automatic run is published as `system.selftest`.

Control commands (one JSON request, one reply, like every control command):
  {"cmd": "selftest.auto", "only": null}                 automatic checks -> summary (and system.selftest)
  {"cmd": "selftest.steps", "only": null}                the guided steps for this hub's hardware
  {"cmd": "selftest.guided", "index": N, "timeout": 30}  watch step N's line until the person acts
  {"cmd": "selftest.say_test"}                           speak the test prompt
  {"cmd": "selftest.call_arm"} / {"cmd": "selftest.call_wait", "token": T, "timeout": 120}
                                                         the wizard's test call: the next call.raised,
                                                         then its call.acknowledged from the platform
  {"cmd": "selftest.heard", "answer": bool}              the installer heard the test prompt: the result row

While a guided call-button step waits, a press on that button is the technician testing it, not a
resident calling for help: it is claimed (ctx.on_press_claim), so it raises no call, and it passes the
step. The smoke alarm's test key is not suppressed: a real alarm.fire goes out (the step's prompt tells
the technician to warn the platform first), because a fire alarm the hub swallowed by mistake could
cost a life.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import asdict
from typing import Any, Protocol

from hub.config.loader import Config
from hub.core.context import Hardware, HubContext
from hub.core.control import ControlError
from hub.core.events import Event
from hub.selftest.guided import GuidedStep, guided_steps, heard_result, watch_step
from hub.selftest.model import COMPONENTS, FAIL, PASS, Env, Result

log = logging.getLogger(__name__)
COMMAND_PREFIX = "selftest."
# The hub's button handler runs on the press's first edge, normally before the line poll sees it; if
# the poll wins, the claim stays up this long more so the same press still cannot raise a call.
PRESS_GRACE_S = 1.0



TEST_CALL_WINDOW_S = 600.0  # the installer's press must come within this after the wizard armed it


class TestCalls(Protocol):
    """hub.calls' public API for the wizard's test call (called through ctx.component, never imported)."""

    def arm_test(self, within_s: float) -> None: ...


class SelfTestComponent:
    name = "selftest"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._ctx: HubContext | None = None
        self._env: Env | None = None
        self._watching: dict[int, asyncio.Future[float]] = {}  # button pin -> its guided step's press
        self._lock = asyncio.Lock()  # a technician and the platform never drive the checks at once
        self._armed: dict[str, dict[str, Any]] = {}

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._env = Env(self.config, ctx.hardware, status=getattr(ctx, "status", None))
        ctx.add_platform_command("selftest", self._platform)
        ctx.on_event(self._on_event)
        ctx.on_press_claim(self._claim_press)
        ctx.on_button(self._on_button)
        for name, handler in {
            "auto": self._auto,
            "steps": self._steps,
            "say_test": self._say_test,
            "call_arm": self._call_arm,
            "call_wait": self._call_wait,
            "heard": self._heard,
        }.items():
            ctx.add_control_command(COMMAND_PREFIX + name, handler)
        # A technician's Ctrl-C must end the wait at once: a button step claims that button's presses.
        ctx.add_control_command(COMMAND_PREFIX + "guided", self._guided, cancel_on_hangup=True)

    async def run(self, only: str | None, trigger: str) -> dict[str, Any]:
        assert self._env is not None and self._ctx is not None
        async with self._lock:
            from hub.selftest.run import run_automatic, summary  # every check's code: only when one runs

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
        step = steps[index]
        if step.component.startswith("button:"):
            return (await self._watch_button(step, timeout)).as_dict()
        return (await watch_step(self._env, step, timeout, owned=True)).as_dict()

    async def _watch_button(self, step: GuidedStep, timeout: float) -> Result:
        """Wait for the technician's press, claiming it so it sends no call to the community."""
        assert self._env is not None and self._ctx is not None and step.pin is not None
        pin = step.pin
        if pin in self._watching:
            raise ControlError(f"GPIO{pin} is already being checked by another self-test")
        pressed: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._watching[pin] = pressed
        self._ctx.set_status("selftest_waiting", sorted(self._watching))
        started = time.monotonic()
        line = asyncio.ensure_future(watch_step(self._env, step, timeout, owned=True))
        try:
            either: set[asyncio.Future[Any]] = {pressed, line}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not pressed.done() and line.result().result == PASS:
                await asyncio.wait({pressed}, timeout=PRESS_GRACE_S)
            if pressed.done():
                return Result(
                    step.component,
                    step.check,
                    PASS,
                    f"GPIO{pin}: pressed after {pressed.result() - started:.1f} s (test press: no call sent)",
                )
            result = line.result()
            if result.result == PASS:  # seen on the line, yet the hub's button handler never had it
                return Result(
                    step.component,
                    step.check,
                    FAIL,
                    f"GPIO{pin}: line changed but the hub saw no press",
                    "集线器没有收到按键：重启服务后重测，仍失败请联系技术支持 / the hub did not register "
                    "the press: restart the service and re-test; if it persists, call support",
                )
            return result
        finally:
            line.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await line
            self._watching.pop(pin, None)
            if self._ctx is not None:
                self._ctx.set_status("selftest_waiting", sorted(self._watching))

    def _claim_press(self, pin: int) -> bool:
        # A press answering "请按呼叫按钮" is a test: it must not reach the community as a call.
        return pin in self._watching

    def _on_button(self, pin: int, action: str) -> None:
        # Called after the claim was asked: the press has been handled (and claimed) by now.
        pressed = self._watching.get(pin)
        if action == "press" and pressed is not None and not pressed.done():
            pressed.set_result(time.monotonic())

    async def _say_test(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._ctx is not None
        self._ctx.say("test_prompt")
        return {"said": "test_prompt"}

    async def _heard(self, request: dict[str, Any]) -> dict[str, Any]:
        """The installer's answer to "did you hear the test prompt", as a result row."""
        return heard_result(bool(request.get("answer"))).as_dict()

    # --- the wizard's test call ----------------------------------------------------------------
    async def _call_arm(self, request: dict[str, Any]) -> dict[str, Any]:
        token = secrets.token_hex(6)
        calls = self._ctx.component("calls") if self._ctx is not None else None
        if calls is not None:  # the call it waits for is marked a test, end to end (docs/protocol.md)
            marking: TestCalls = calls
            marking.arm_test(float(request.get("within_s") or TEST_CALL_WINDOW_S))
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
        for slot in self._armed.values():
            for key in ("raised", "acked"):
                with contextlib.suppress(asyncio.InvalidStateError):
                    slot[key].cancel()
        self._armed.clear()
        self._ctx = None


def build(config: Config, hardware: Hardware) -> SelfTestComponent:
    return SelfTestComponent(config)
