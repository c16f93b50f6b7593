"""One stand-in for hub.core.context.HubContext, shared by the component tests that start a component without
a running hub: it records what is raised and spoken (in one timeline) and what the component registers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.alarms import store as alarm_store
from hub.alarms.card import ContextCard
from hub.alarms.registry import AlarmRegistry
from hub.config.loader import Config
from hub.core.activity import ActivityStream
from hub.core.clock import Clock, ManualClock
from hub.core.context import Hardware
from hub.core.events import Event
from hub.core.outbox import StateChange
from hub.speech.player import TimedPlayer
from hub.speech.questions import PressAnswers, Question
from hub.speech.queue import SpeakerRenderer, SpeechQueue, Utterance
from voice.speaker import Speaker


class RecordingSpeech(SpeechQueue):
    """The real speech queue with the voice off (every prompt is heard at once), recording each prompt
    with its fields in the stand-in's timeline."""

    def __init__(self, hub: FakeHub) -> None:
        super().__init__(SpeakerRenderer(Speaker(Path("/nonexistent"), enabled=False)), TimedPlayer(),
                         Path("/nonexistent"), enabled=False, now=hub.clock.monotonic)
        self.hub = hub

    def say(self, key: str, volume: int | None = None, **fields: Any) -> Utterance:
        self.hub.prompts.append((key, {**fields, **({"volume": volume} if volume is not None else {})}))
        self.hub.timeline.append(("say", key))
        for then_key, then_fields in fields.get("then", ()):  # said in the same utterance, in this order
            self.hub.prompts.append((then_key, dict(then_fields)))
            self.hub.timeline.append(("say", then_key))
        return super().say(key, volume, **fields)


START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


class FakeHub:
    """Just enough of hub.core.context.HubContext: records what is said and raised, in one timeline.

    `clock` defaults to a ManualClock at START; `simulated` marks the (empty) hardware seams."""

    def __init__(self, config: Config, clock: Clock | None = None, *, simulated: bool = True) -> None:
        self.config = config
        self.clock = clock if clock is not None else ManualClock(START)
        self.activity = ActivityStream()
        self.hardware = Hardware(gpio=None, open_i2c=lambda bus: None,
                                 open_serial=lambda *a, **k: None, simulated=simulated)
        self.timeline: list[tuple[str, str]] = []  # ("event", type) and ("say", prompt), in order
        self.events: list[Event] = []
        self.prompts: list[tuple[str, dict[str, Any]]] = []  # (prompt, fields) as passed to say()
        self.commands: dict[str, Any] = {}
        self.sims: dict[str, Any] = {}
        self.buttons: list[Any] = []
        self.answers = PressAnswers(self.clock.monotonic)
        self.claims = self.answers.claims
        self.delivery_listeners: list[Any] = []
        self.event_listeners: list[Any] = []
        self._speech: RecordingSpeech | None = None
        self.status: dict[str, Any] = {}
        self.components: dict[str, Any] = {}
        self.tasks: list[asyncio.Task[Any]] = []
        # The real open-alarm registry, its table in an in-memory database instead of the outbox's.
        self.db = sqlite3.connect(":memory:")
        alarm_store.load(self.db)
        self.alarms = AlarmRegistry(self, self.commit, config.state_dir)  # type: ignore[arg-type]
        # Every alarm carries its context card, as in the hub (hub.core.app).
        ContextCard(config, lambda: self.status).attach(self.activity, self.alarms, self.on_event)

    async def raise_event(self, event_type: str, data: dict[str, Any], ts: datetime | None = None) -> Event:
        return await self.commit(Event(event_type, data, ts or self.clock.now()))

    async def commit(self, event: Event, state: StateChange | None = None) -> Event:
        if state is not None:
            state(self.db)
        self.events.append(event)
        self.timeline.append(("event", event.type))
        for listener in self.event_listeners:
            listener(event)
        return event

    def saved(self, event_id: str) -> bool:
        return True

    @property
    def speech(self) -> RecordingSpeech:
        if self._speech is None:
            self._speech = RecordingSpeech(self)
        return self._speech

    def say(self, prompt: str, **fields: Any) -> None:
        self.speech.say(prompt, **fields)

    async def speak(self, prompt: str, **fields: Any) -> dict[str, Any]:
        return await self.speech.speak(prompt, **fields)

    def ask(self, prompt: str) -> Question:
        return self.answers.ask(self.speech, prompt)

    def on_delivered(self, listener: Any) -> None:
        self.delivery_listeners.append(listener)

    def on_event(self, listener: Any) -> None:
        self.event_listeners.append(listener)

    def feedback(self, pattern: str) -> None:
        pass

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def add_sim_command(self, verb: str, handler: Any) -> None:
        self.sims[verb] = handler

    def add_platform_command(self, name: str, handler: Any) -> None:
        self.commands[name] = handler

    def on_button(self, listener: Any) -> None:
        self.buttons.append(listener)

    def on_press_claim(self, claim: Any) -> None:
        self.claims.append(claim)

    def claim_press(self, pin: int) -> bool:
        return self.answers.claim(pin)

    def set_status(self, key: str, value: Any, *, now: bool = False) -> None:
        self.status[key] = value

    def component(self, name: str) -> Any:
        return self.components.get(name)

    # What the tests ask of it afterwards.

    @property
    def spoken(self) -> list[str]:
        """The prompts spoken so far, in order."""
        return [prompt for prompt, _ in self.prompts]

    def press(self, pin: int) -> bool:
        """A call-button press as the call manager handles it: asked who it answers (True: claimed, no
        call), then fanned out to the `on_button` listeners."""
        claimed = self.claim_press(pin)
        for listener in self.buttons:
            listener(pin, "press")
        return claimed

    def raised(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]

    async def wait_for(self, event_type: str, count: int = 1) -> list[Event]:
        for _ in range(500):
            if len(self.raised(event_type)) >= count:
                return self.raised(event_type)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event_type} after 5 s; got {[e.type for e in self.events]}")

    async def cancel_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class SleepClock:
    """A monotonic clock for the fake I2C chips (`now=clock`) that moves only when the driver sleeps
    (`sleep=clock.sleep`), so conversion waits take no real time."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s
