"""One-button calls: press -> call.raised at once; hold -> cancel; ack -> acknowledged; silence -> escalate.

One open call per button: pressing again while it is open repeats the prompt instead of raising a
second call. A call is closed by the platform's ack or the resident's cancelling hold. The cancelling
hold must be a new press within the guard window: a frightened resident who keeps the first press
down is not cancelling. A press that answers a question the hub is asking (`ctx.claim_press`, see
hub.core.questions) raises no call, unless it is held ANSWER_HOLD_S: then it is a call after all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.config.loader import Config
from hub.core.buttons import ButtonBank
from hub.core.context import Hardware, HubContext
from hub.core.files import atomic_write
from hub.core.questions import ANSWER_HOLD_S

log = logging.getLogger(__name__)


@dataclass
class Call:
    id: str
    kind: str
    button: int
    ts: str
    raised_mono: float
    escalated: bool = False


class CallManager:
    name = "calls"

    def __init__(self, config: Config) -> None:
        self.cfg = config["calls"]
        self.kinds = {b["pin"]: b["kind"] for b in config["buttons"]}
        self.buttons_cfg = config["buttons"]
        self.open: dict[int, Call] = {}  # button pin -> its open call
        self.path = config.state_dir / "open_calls.json"
        self._waiters: dict[int, list[asyncio.Future[dict[str, Any]]]] = {}
        self._escalations: dict[str, asyncio.Task[None]] = {}
        self._ctx: HubContext | None = None
        self._bank: ButtonBank | None = None
        self._saved_offline: set[str] = set()  # calls the resident was told are saved: tell them when sent

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._load()
        self._bank = ButtonBank(ctx.hardware.pin_factory, self.buttons_cfg, ctx.clock, self.cfg["cancel_hold_s"],
                                self._on_press, self._on_release, self._on_hold)
        ctx.on_ack(self._on_ack)
        ctx.on_delivered(self._on_delivered)
        for call in self.open.values():
            self._escalations[call.id] = ctx.spawn(f"calls.escalate.{call.id[:8]}", self._escalate(call))
        ctx.set_status("open_calls", self.status_calls())

    # --- button events (on the loop) -------------------------------------------------------------
    def _on_press(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        # Asked before the activity is noted: noting it is what answers a pending inactivity check.
        claimed = ctx.claim_press(pin)
        call = self.open.get(pin)
        if not claimed and call is None:
            # The call first: its task's first step (commit and publish) is queued ahead of the
            # bookkeeping below, which only needs the press's time stamp, not to run first.
            ctx.spawn(f"calls.raise.{pin}", self._raise(pin, ts))
            asyncio.get_running_loop().call_soon(self._note_press, pin, ts)
            return
        self._note_press(pin, ts)
        if claimed:  # the answer to "您摔倒了吗？" / "您还好吗？": not a call for help...
            log.info("press on button %s answered a question: no call", pin)
            self._resolve(pin, {"outcome": "claimed"})
            if self._bank is not None:  # ...unless it is held: "需要帮助请按住按钮"
                asyncio.get_running_loop().call_later(ANSWER_HOLD_S, self._answer_held, pin,
                                                      self._bank.lines[pin].press_mono)
            return
        assert call is not None
        ctx.say("call_repeat")
        ctx.feedback("calling")
        self._resolve(pin, {"outcome": "repeat", "call_id": call.id, "event_id": call.id})

    def _note_press(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        ctx.activity.note(f"button:{pin}", ts)
        ctx.notify_button(pin, "press")

    def _answer_held(self, pin: int, press_mono: float) -> None:
        line = self._bank.lines[pin] if self._bank is not None else None
        if line is None or not line.pressed or line.press_mono != press_mono or pin in self.open:
            return
        log.info("answering press on button %s held %.0f s: a call for help", pin, ANSWER_HOLD_S)
        self._require_ctx().spawn(f"calls.raise.{pin}", self._raise(pin, self._require_ctx().clock.now()))

    def _on_release(self, pin: int, held_s: float) -> None:
        self._require_ctx().notify_button(pin, "release")

    def _on_hold(self, pin: int) -> None:
        ctx = self._require_ctx()
        ctx.notify_button(pin, "hold")
        call = self.open.get(pin)
        bank = self._bank
        if call is None or bank is None:
            return
        press_started = bank.lines[pin].press_mono
        if press_started - call.raised_mono <= 1e-6:
            return  # this is the press that raised the call
        if press_started - call.raised_mono > self.cfg["guard_s"]:
            log.info("hold on button %s after the guard window: call %s stays open", pin, call.id)
            return
        ctx.spawn(f"calls.cancel.{pin}", self._cancel(call, ctx.clock.now()))

    # --- transitions ------------------------------------------------------------------------------
    async def _raise(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        kind = self.kinds[pin]
        event = await ctx.raise_event("call.raised", {"kind": kind, "button": pin}, ts=ts)
        # Only now, with the call on disk, is the resident told it is going out.
        call = Call(event.id, kind, pin, event.ts.isoformat(), self._bank.lines[pin].press_mono
                    if self._bank else ctx.clock.monotonic())
        self.open[pin] = call
        self._save()
        ctx.feedback("calling")
        if ctx.saved(event.id):  # else the hub has said "存储故障，呼叫未能保存" (hub.core.storage_watch)
            if ctx.online:
                ctx.say("call_raising")
            else:
                ctx.say("call_offline")
                self._saved_offline.add(call.id)
        self._escalations[call.id] = ctx.spawn(f"calls.escalate.{call.id[:8]}", self._escalate(call))
        ctx.set_status("open_calls", self.status_calls())
        self._resolve(pin, {"outcome": "raised", "call_id": call.id, "event_id": call.id})

    async def _cancel(self, call: Call, ts: datetime) -> None:
        ctx = self._require_ctx()
        if self.open.get(call.button) is not call:
            return
        del self.open[call.button]
        self._stop_escalation(call)
        self._save()
        event = await ctx.raise_event("call.cancelled", {"call_id": call.id, "kind": call.kind,
                                                         "button": call.button}, ts=ts)
        ctx.feedback("cancelled" if not self.open else "calling")
        ctx.say("call_cancelled")
        ctx.set_status("open_calls", self.status_calls())
        self._resolve(call.button, {"outcome": "cancelled", "call_id": call.id, "event_id": event.id})

    def _on_delivered(self, event_id: str) -> None:
        if event_id in self._saved_offline:
            self._saved_offline.discard(event_id)
            if any(c.id == event_id for c in self.open.values()):
                self._require_ctx().say("call_delivered")

    def _on_ack(self, event_id: str, by: str, message: str | None) -> bool:
        call = next((c for c in self.open.values() if c.id == event_id), None)
        if call is None:
            return False
        ctx = self._require_ctx()
        del self.open[call.button]
        self._stop_escalation(call)
        self._save()
        data: dict[str, Any] = {"call_id": call.id, "kind": call.kind, "button": call.button, "by": by}
        if message:
            data["message"] = message
        ctx.spawn(f"calls.ack.{call.id[:8]}", ctx.raise_event("call.acknowledged", data))
        ctx.feedback("acked")
        ctx.say("call_acknowledged")
        ctx.set_status("open_calls", self.status_calls())
        return True

    async def _escalate(self, call: Call) -> None:
        ctx = self._require_ctx()
        waited = ctx.clock.monotonic() - call.raised_mono
        await asyncio.sleep(max(0.0, self.cfg["ack_timeout_s"] - waited))
        if not call.escalated:
            call.escalated = True
            self._save()
            await ctx.raise_event("call.escalated", {"call_id": call.id, "kind": call.kind,
                                                     "button": call.button,
                                                     "after_s": round(self.cfg["ack_timeout_s"], 1)})
        count = 0
        while True:
            await ctx.speak("call_no_answer")  # the pause counts from the end of the sentence
            count += 1
            fast = count <= self.cfg["reannounce_count"]
            await asyncio.sleep(self.cfg["reannounce_s"] if fast else self.cfg["reannounce_slow_s"])

    def _stop_escalation(self, call: Call) -> None:
        task = self._escalations.pop(call.id, None)
        if task is not None:
            task.cancel()

    # --- for simulation and status ----------------------------------------------------------------
    def wait_press(self, pin: int) -> asyncio.Future[dict[str, Any]]:
        """A future resolved with the outcome of the next press on `pin` once it is committed."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(pin, []).append(future)
        return future

    def _resolve(self, pin: int, outcome: dict[str, Any]) -> None:
        for future in self._waiters.pop(pin, []):
            if not future.done():
                future.set_result(outcome)

    def status_calls(self) -> list[dict[str, Any]]:
        return [{"call_id": c.id, "kind": c.kind, "button": c.button, "since": c.ts,
                 "escalated": c.escalated} for c in self.open.values()]

    def _require_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("CallManager used before start()")
        return self._ctx

    def _save(self) -> None:
        # Small and rare: open calls survive a restart so a late ack still closes them.
        try:
            atomic_write(self.path, json.dumps([asdict(c) for c in self.open.values()]).encode())
        except OSError as exc:  # a full or read-only card: the call itself still goes out
            log.error("cannot save open calls to %s: %s", self.path, exc)

    def _load(self) -> None:
        try:
            items = json.loads(Path(self.path).read_text())
            now = self._require_ctx().clock.monotonic()
            for item in items:
                item["raised_mono"] = now - self.cfg["ack_timeout_s"] if item.get("escalated") else now
                call = Call(**item)
                if call.button in self.kinds:
                    self.open[call.button] = call
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)

    async def close(self) -> None:
        for task in list(self._escalations.values()):
            task.cancel()
        self._escalations.clear()
        if self._bank is not None:
            self._bank.close()
            self._bank = None


def build(config: Config, hardware: Hardware) -> CallManager:
    return CallManager(config)
