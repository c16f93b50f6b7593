"""One-button calls: press -> call.raised at once; hold -> cancel; ack -> acknowledged; silence -> escalate.

One open call per button: pressing again while it is open repeats the prompt instead of raising a
second call. A call is closed by the platform's ack or the resident's cancelling hold. The cancelling
hold must be a new press within the guard window: a frightened resident who keeps the first press
down is not cancelling. A press that answers a question the hub is asking (`ctx.claim_press`, see
hub.speech.questions) raises no call, unless it is held ANSWER_HOLD_S: then it is a call after all.

Open calls are open alarms (hub.alarms.registry): each transition is committed with its event before the
resident hears it, the ack is the registry's, and an open call survives a power cut with its
escalation (the registry hands restored calls back to `_escalate` with the time already waited).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from hub.alarms.reminders import schedule
from hub.alarms.store import OpenAlarm
from hub.alarms.words import words_of
from hub.calls.stuck import StuckButtons
from hub.config.loader import Config
from hub.core.buttons import ButtonBank
from hub.core.context import Hardware, HubContext
from hub.speech.questions import ANSWER_HOLD_S

log = logging.getLogger(__name__)
CALL = "call.raised"


class CallManager:
    name = "calls"

    def __init__(self, config: Config) -> None:
        self.cfg = config["calls"]
        self.kinds = {b["pin"]: b["kind"] for b in config["buttons"]}
        self.buttons_cfg = config["buttons"]
        self._raised_mono: dict[str, float] = {}  # call id -> monotonic time of its press (this run)
        self._waiters: dict[int, list[asyncio.Future[dict[str, Any]]]] = {}
        self._ctx: HubContext | None = None
        self._bank: ButtonBank | None = None
        self._saved_offline: set[str] = set()  # calls the resident was told are saved: tell them when sent
        self._test_until: float | None = None  # the installer's test call: raised before this (monotonic)
        self._stuck = StuckButtons(self.kinds, self.cfg["stuck_after_s"])

    async def start(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._stuck.start(ctx, self._publish)
        self._bank = ButtonBank(ctx.hardware.gpio, self.buttons_cfg, ctx.clock, self.cfg["cancel_hold_s"],
                                self._on_press, self._on_release, self._on_hold)
        ctx.alarms.handle(CALL, escalate=self._escalate, acknowledged=self._acknowledged)
        ctx.on_delivered(self._on_delivered)
        self._publish()

    def arm_test(self, within_s: float) -> None:
        """The next call raised within `within_s` is the installer's test call (the wizard's live check): its
        call.raised carries "test": true, so the platform and the console tell it from a real emergency."""
        self._test_until = self._require_ctx().clock.monotonic() + within_s

    def is_pressed(self, pin: int) -> bool:
        """The hub's view of the button: held down (its release not yet settled)."""
        return self._bank is not None and self._bank.is_pressed(pin)

    def held_since(self, pin: int) -> float | None:
        """When (monotonic) the button held down now was pressed, None when it is up: set-up mode's hold
        that began before it started (hub.provision.web.mode) is timed from this."""
        return self._bank.held_since(pin) if self._bank is not None else None

    def open_call(self, pin: int) -> OpenAlarm | None:
        return next((c for c in self._require_ctx().alarms.open_alarms(CALL) if c.facts.get("button") == pin), None)

    # --- button events (on the loop) -------------------------------------------------------------
    def _on_press(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        self._stuck.pressed(pin)
        # Asked before the activity is noted: noting it is what answers a pending inactivity check.
        claimed = ctx.claim_press(pin)
        call = self.open_call(pin)
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
        ctx.say("call_repeat", about=call.id)
        ctx.feedback("calling")
        self._resolve(pin, {"outcome": "repeat", "call_id": call.id, "event_id": call.id})

    def _note_press(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        ctx.activity.note(f"button:{pin}", ts)
        ctx.notify_button(pin, "press")

    def _answer_held(self, pin: int, press_mono: float) -> None:
        line = self._bank.lines[pin] if self._bank is not None else None
        if line is None or not line.pressed or line.press_mono != press_mono or self.open_call(pin) is not None:
            return
        log.info("answering press on button %s held %.0f s: a call for help", pin, ANSWER_HOLD_S)
        self._require_ctx().spawn(f"calls.raise.{pin}", self._raise(pin, self._require_ctx().clock.now()))

    def _on_release(self, pin: int, held_s: float) -> None:
        self._require_ctx().notify_button(pin, "release")
        self._stuck.released(pin)

    def _on_hold(self, pin: int) -> None:
        ctx = self._require_ctx()
        ctx.notify_button(pin, "hold")
        call = self.open_call(pin)
        bank = self._bank
        if call is None or bank is None:
            return
        press_started = bank.lines[pin].press_mono
        raised_mono = self._raised_mono.get(call.id, float("-inf"))  # restored: long past the guard
        if press_started - raised_mono <= 1e-6:
            return  # this is the press that raised the call
        if press_started - raised_mono > self.cfg["guard_s"]:
            log.info("hold on button %s after the guard window: call %s stays open", pin, call.id)
            return
        ctx.spawn(f"calls.cancel.{pin}", self._cancel(call, ctx.clock.now()))

    # --- wireless triggers (hub.triggers calls these through ctx.component("calls")) ------------
    async def raise_remote(self, kind: str, source: dict[str, Any], ts: datetime) -> dict[str, Any]:
        """A press on a wireless trigger: the same call flow as a wired button (one open call per device,
        escalation, reminders, ack, context card), the event naming the device and its room
        (`source`: {"trigger": id, "room": room}). Returns the outcome, like a wired press's."""
        call_id, raised = await self._open_wireless(f"call:trigger:{source['trigger']}", kind, source, ts)
        return {"outcome": "raised" if raised else "repeat", "call_id": call_id}

    async def cancel_remote(self, trigger: str, within_s: float, ts: datetime) -> dict[str, Any]:
        """The device's cancel press: withdraws its open call if raised within `within_s`."""
        ctx = self._require_ctx()
        call = next((c for c in ctx.alarms.open_alarms(CALL) if c.key == f"call:trigger:{trigger}"), None)
        if call is None:
            return {"outcome": "nothing"}
        if ctx.clock.monotonic() - self._raised_mono.get(call.id, float("-inf")) > within_s:
            ctx.say("call_repeat", about=call.id)
            return {"outcome": "too_late", "call_id": call.id}
        event = await ctx.alarms.withdraw(call.id, "call.cancelled", {
            "call_id": call.id, "kind": call.facts["kind"], **_source(call.facts)}, ts=ts)
        if event is None:
            return {"outcome": "nothing"}
        self._raised_mono.pop(call.id, None)
        ctx.feedback("cancelled" if not ctx.alarms.open_alarms(CALL) else "calling")
        ctx.say("call_cancelled", about=call.id)
        self._publish()
        return {"outcome": "cancelled", "call_id": call.id}

    # --- transitions ------------------------------------------------------------------------------
    async def _raise(self, pin: int, ts: datetime) -> None:
        ctx = self._require_ctx()
        kind = self.kinds[pin]
        press_mono = self._bank.lines[pin].press_mono if self._bank else ctx.clock.monotonic()
        test = self._test_until is not None and ctx.clock.monotonic() <= self._test_until
        self._test_until = None if test else self._test_until
        marked = {"test": True} if test else {}
        event = await ctx.alarms.open(CALL, {"kind": kind, "button": pin, **marked}, key=f"call:{pin}", ts=ts,
                                      facts={"kind": kind, "button": pin, **marked})
        self._announce(event.id, press_mono)
        self._resolve(pin, {"outcome": "raised", "call_id": event.id, "event_id": event.id})

    async def raise_wireless(self, device: str, room: str, kind: str = "emergency",
                             ts: datetime | None = None) -> str:
        """A wireless trigger (a Zigbee SOS button, hub.zigbee): the same call as a wired press, named by its
        device and room instead of a GPIO pin; pressed again while open, the resident hears it is still going."""
        ctx = self._require_ctx()
        ts = ts or ctx.clock.now()
        ctx.activity.note(f"button:{device}", ts)
        call_id, _raised = await self._open_wireless(f"call:{device}", kind, {"device": device, "room": room}, ts)
        return call_id

    async def _open_wireless(self, key: str, kind: str, source: dict[str, Any], ts: datetime) -> tuple[str, bool]:
        """One open call per wireless device: (call id, True) for a new call, (its id, False) when pressed
        again while its call is open (the resident hears it is still going)."""
        ctx = self._require_ctx()
        open_call = ctx.alarms.get(key)
        if open_call is not None:
            ctx.say("call_repeat", about=open_call.id)
            ctx.feedback("calling")
            return open_call.id, False
        facts = {"kind": kind, **source}
        event = await ctx.alarms.open(CALL, dict(facts), key=key, ts=ts, facts=facts)
        self._announce(event.id, ctx.clock.monotonic())
        return event.id, True

    def _announce(self, call_id: str, raised_mono: float) -> None:
        """A call on disk: only now is the resident told it is going out (or saved, when offline)."""
        ctx = self._require_ctx()
        self._raised_mono[call_id] = raised_mono
        ctx.feedback("calling")
        if ctx.saved(call_id):  # else the hub has said "存储故障，呼叫未能保存" (hub.core.storage_watch)
            if ctx.online:
                ctx.say("call_raising", about=call_id)
            else:
                ctx.say("call_offline", about=call_id)
                self._saved_offline.add(call_id)
        self._publish()

    async def cancel_wireless(self, device: str) -> bool:
        """The wireless trigger held within the guard window of its call: cancelled, as a wired hold."""
        ctx = self._require_ctx()
        call = ctx.alarms.get(f"call:{device}")
        raised = self._raised_mono.get(call.id) if call is not None else None
        if call is None or raised is None or ctx.clock.monotonic() - raised > self.cfg["guard_s"]:
            return False
        await self._cancel(call, ctx.clock.now())
        return True

    async def _cancel(self, call: OpenAlarm, ts: datetime) -> None:
        ctx = self._require_ctx()
        button = call.facts.get("button")
        event = await ctx.alarms.withdraw(call.id, "call.cancelled", {"call_id": call.id, "kind": call.facts["kind"],
                                                                      **_source(call.facts)}, ts=ts)
        if event is None:
            return  # acknowledged meanwhile: nothing left to cancel
        self._raised_mono.pop(call.id, None)
        ctx.feedback("cancelled" if not ctx.alarms.open_alarms(CALL) else "calling")
        ctx.say("call_cancelled", about=call.id)
        self._publish()
        if isinstance(button, int):
            self._resolve(button, {"outcome": "cancelled", "call_id": call.id, "event_id": event.id})

    def _on_delivered(self, event_id: str) -> None:
        if event_id in self._saved_offline:
            self._saved_offline.discard(event_id)
            if any(c.id == event_id for c in self._require_ctx().alarms.open_alarms(CALL)):
                self._require_ctx().say("call_delivered", about=event_id)

    def _acknowledged(self, call: OpenAlarm) -> None:
        """The registry committed the platform's ack and told the resident; the call is closed."""
        self._raised_mono.pop(call.id, None)
        self._publish()

    async def _escalate(self, call: OpenAlarm, waited: float) -> None:
        """Until the call is acknowledged or cancelled (the registry then cancels this task): escalate, then
        the resident is reminded, one reminder for all waiting calls on a backing-off schedule."""
        ctx = self._require_ctx()
        await asyncio.sleep(max(0.0, self.cfg["ack_timeout_s"] - waited))
        if not call.escalated:
            await ctx.alarms.change(call.id, "call.escalated", {
                "call_id": call.id, "kind": call.facts["kind"], **_source(call.facts),
                "after_s": round(self.cfg["ack_timeout_s"], 1)}, escalated=True)
            self._publish()
        what = words_of(call)  # what the reminder calls it: "紧急呼叫，社区暂未确认…"
        ctx.alarms.remind(call.id, *what, steps=schedule(self.cfg["reannounce_s"], self.cfg["reannounce_slow_s"]))

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

    def _publish(self) -> None:
        ctx = self._require_ctx()
        ctx.set_status("open_calls", [
            {"call_id": c.id, "kind": c.facts.get("kind"), **_source(c.facts), "since": c.since,
             "escalated": c.escalated, "acknowledged": c.acknowledged} for c in ctx.alarms.open_alarms(CALL)])
        ctx.set_status("stuck_buttons", self._stuck.status())  # buttons no new call can come from

    def _require_ctx(self) -> HubContext:
        if self._ctx is None:
            raise RuntimeError("CallManager used before start()")
        return self._ctx

    async def close(self) -> None:
        self._stuck.close()
        if self._bank is not None:
            self._bank.close()
            self._bank = None


def _source(facts: dict[str, Any]) -> dict[str, Any]:
    """What pressed: the wired button's pin, a BLE trigger (hub.triggers) or a Zigbee device (hub.zigbee),
    with its room."""
    if "trigger" in facts:
        return {"trigger": facts["trigger"], "room": facts.get("room", "")}
    if "device" in facts:
        return {"device": facts["device"], "room": facts.get("room", "")}
    return {"button": facts.get("button")}


def build(config: Config, hardware: Hardware) -> CallManager:
    return CallManager(config)
