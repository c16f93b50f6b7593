"""Where the components hook into the coordinator: listeners for buttons, committed events and
deliveries, press claims, and the sim, platform and control commands they add.

A mixin of hub.core.app.Hub (like hub.core.resident_voice), kept apart so the coordinator stays one
screen of wiring. A listener that raises is logged and skipped: one faulty part never stops the others
from hearing a press or an alarm.
"""

from __future__ import annotations

from typing import Any

from hub.core.command_router import CommandRouter
from hub.core.context import (
    ButtonListener,
    CommandHandler,
    ControlHandler,
    DeliveryListener,
    EventListener,
    PressClaim,
    SimHandler,
)
from hub.core.control import ControlError
from hub.core.listeners import tell_all
from hub.core.simulation import SimHelp
from hub.speech.questions import PressAnswers


class Hooks:
    commands: CommandRouter
    _answers: PressAnswers

    def _init_hooks(self, control: dict[str, ControlHandler]) -> None:
        """`control`: the coordinator's own control commands (besides `sim`)."""
        self._sim: dict[str, SimHandler] = {}
        self._button_listeners: list[ButtonListener] = []
        self._event_listeners: list[EventListener] = []
        self._delivery_listeners: list[DeliveryListener] = []
        # The control server serves from this very dict, so commands added after it starts still count.
        self._control_handlers: dict[str, ControlHandler] = {"sim": self._control_sim, **control}
        self._control_cancel_on_hangup: set[str] = set()

    def add_sim_command(self, verb: str, handler: SimHandler) -> None:
        self._sim[verb] = handler

    def add_platform_command(self, name: str, handler: CommandHandler) -> None:
        self.commands.add(name, handler)

    def add_control_command(self, name: str, handler: ControlHandler, *, cancel_on_hangup: bool = False) -> None:
        if name in self._control_handlers:
            raise ValueError(f"control command {name!r} is already registered")
        self._control_handlers[name] = handler
        if cancel_on_hangup:
            self._control_cancel_on_hangup.add(name)

    def on_button(self, listener: ButtonListener) -> None:
        self._button_listeners.append(listener)

    def notify_button(self, pin: int, action: str) -> None:
        tell_all(self._button_listeners, "button", pin, action)

    def on_press_claim(self, claim: PressClaim) -> None:
        self._answers.claims.append(claim)

    def claim_press(self, pin: int) -> bool:
        return self._answers.claim(pin)

    def on_delivered(self, listener: DeliveryListener) -> None:
        self._delivery_listeners.append(listener)

    def _delivered(self, event_id: str) -> None:
        tell_all(self._delivery_listeners, "delivery", event_id)

    def on_event(self, listener: EventListener) -> None:
        self._event_listeners.append(listener)

    async def _control_sim(self, request: dict[str, Any]) -> dict[str, Any]:
        verb = str(request.get("verb"))
        handler = self._sim.get(verb)
        if handler is None:
            raise ControlError(f"unknown sim verb {verb!r}; this hub knows: {', '.join(sorted(self._sim))}"
                               if self._sim else "此终端不是模拟运行 this hub is not simulated: start it with "
                               "'hub run --simulate'")
        argv = request.get("argv") or []
        try:
            return await handler([str(a) for a in argv])
        except SimHelp as answer:
            return {"help": answer.text}

