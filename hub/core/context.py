"""What the hub coordinator offers its components, and what a component offers back.

A component (call buttons, a sensor coordinator, the BLE meter manager, a detector) gets a
`HubContext` in `start()`, starts its named background tasks through `ctx.spawn`, raises events through
`ctx.raise_event`, and registers its simulation verbs and platform commands. Components never import
each other; the coordinator wires them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hub.alarms.registry import AlarmRegistry
from hub.config.loader import Config
from hub.core.activity import ActivityStream
from hub.core.clock import Clock
from hub.core.events import Event
from hub.speech.questions import Question

SimHandler = Callable[[list[str]], Awaitable[dict[str, Any]]]
CommandHandler = Callable[[dict[str, Any]], Awaitable[None]]
# One request from the local control socket -> its JSON-able reply (raise hub.core.control.ControlError to refuse).
ControlHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
ButtonListener = Callable[[int, str], None]  # (pin, "press" | "release" | "hold")
PressClaim = Callable[[int], bool]  # (pin) -> True: this press answers me, it must not raise a call
EventListener = Callable[[Event], None]
DeliveryListener = Callable[[str], None]  # (event id) once the broker has it (PUBACK)


class SimBusFactory(Protocol):
    def __call__(self, bus: int) -> Any: ...


@dataclass
class Hardware:
    """The seams chosen once at start-up: real on a Pi, fakes at the bus in simulation."""

    gpio: Any  # hub.core.lines.Lines: the board's GPIO lines (None where a test needs none)
    open_i2c: Callable[[int], Any]  # bus number -> SMBus-like object
    open_serial: Callable[..., Any]  # (port, baudrate=..., timeout=...) -> serial.Serial-like
    ble_client_backend: Any = None  # bleak `backend=` class for BleakClient, None = platform default
    ble_scanner_backend: Any = None  # bleak `backend=` class for BleakScanner
    simulated: bool = False
    world: Any = None  # the simulated world (hub.core.simulation.SimWorld) when simulated
    extras: dict[str, Any] = field(default_factory=dict)


class HubContext(Protocol):
    config: Config
    clock: Clock
    hardware: Hardware
    activity: ActivityStream
    # Alarms that wait for the platform's ack: `await ctx.alarms.open("alarm.fall", data, key="fall")`
    # raises the event and opens the alarm in one commit; `ctx.alarms.change(...)` commits an event
    # that escalates, clears or closes it; `ctx.alarms.handle(type, escalate=..., acknowledged=...)`
    # says how to escalate it and hears its ack (hub.alarms.registry).
    alarms: AlarmRegistry

    async def raise_event(self, event_type: str, data: dict[str, Any],
                          ts: datetime | None = None) -> Event:
        """Commit the event durably (returns once on disk), then wake the uplink."""
        ...

    def saved(self, event_id: str) -> bool:
        """False while `event_id` is held in memory only: the SD card refused it (hub.core.store)."""
        ...

    def say(self, prompt: str, **fields: Any) -> None:
        """Queue a catalogue prompt (voice.catalogue) on the one speech queue (hub.speech.queue) without
        waiting; never raises. `volume=` sets its loudness; `about=` names the event or alarm id it belongs
        to (kept on record: `hub spoken`); the other fields fill the text."""
        ...

    async def speak(self, prompt: str, **fields: Any) -> dict[str, Any] | None:
        """Say it and return once it has been heard: its record (key, text, start, end on the loop's
        clock). Schedule a repeat from here, so repeats never pile up on a long prompt."""
        ...

    def ask(self, prompt: str) -> Question:
        """Open a question a press answers (hub.speech.questions): the first press of any call button
        answers it and raises no call, less urgent prompts wait, `close()` it when done."""
        ...

    def feedback(self, pattern: str) -> None:
        """LED/buzzer pattern: 'calling', 'acked', 'idle', 'offline', 'online', 'alarm', 'chirp'."""
        ...

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a named background task that the hub cancels on shutdown and logs if it dies."""
        ...

    def add_sim_command(self, verb: str, handler: SimHandler) -> None: ...

    def add_platform_command(self, name: str, handler: CommandHandler) -> None:
        """Handle `{prefix}/{hub}/cmd/{name}`; payload already parsed as a JSON object."""
        ...

    def add_control_command(self, name: str, handler: ControlHandler, *, cancel_on_hangup: bool = False) -> None:
        """Serve `{"cmd": name, ...}` on the local control socket (`state_dir/control.sock`), for the
        CLI on this device. Prefix names with the component (`selftest.auto`); a taken name is refused
        (ValueError). Works whether the socket is already listening or not. `cancel_on_hangup`: the
        handler is cancelled if its client disconnects before the reply (long waits that hold something)."""
        ...

    async def use_client_cert(self, pair: tuple[str, str], timeout: float) -> str:
        """Reconnect to the broker presenting this TLS client certificate and key (files): '' once the
        broker accepted it within `timeout`, else why not (hub.core.uplink.session)."""
        ...

    def on_button(self, listener: ButtonListener) -> None:
        """Hear every call-button press/hold (the fall countdown cancels on any press)."""
        ...

    def on_press_claim(self, claim: PressClaim) -> None:
        """Be asked first about every call-button press; return True to consume it (no call is raised;
        the press still counts as activity and still reaches `on_button` listeners)."""
        ...

    def claim_press(self, pin: int) -> bool:
        """Called by the button owner before acting on a press: True if an `on_press_claim` took it."""
        ...

    def watch_topic(self, suffix: str, handler: Callable[[bytes], None]) -> None:
        """Hear `{prefix}/{hub}/{suffix}`, retained messages included: a document the platform keeps for
        this hub (`config/desired`). Called on the loop with the raw payload; b"" = cleared."""
        ...

    def publish_retained(self, suffix: str, body: dict[str, Any]) -> None:
        """Publish `body` (JSON) retained with QoS 1 on `{prefix}/{hub}/{suffix}`, now or on the next
        connect; the latest is published again on every connect (hub.core.uplink.retained)."""
        ...

    def restart(self, reason: str) -> None:
        """Stop cleanly so that systemd starts the hub again (Restart=always): for settings read at start."""
        ...

    def hold_events(self, reason: str) -> None:
        """Keep events in the outbox though connected, because `reason` (a broker not yet proven to be the
        platform's); '' sends them again and forgets the hold across restarts (hub.core.uplink.hold)."""
        ...

    def set_status(self, key: str, value: Any, *, now: bool = False) -> None:
        """Publish `value` under `key` in the retained status and `hub status`: with the next periodic status,
        or at once with `now` (a change the duty operator must see as it happens: a fall countdown, the
        voice call's state, mains lost, storage failing), only when the value changed."""
        ...

    def publish_state(self, topic: str, payload: str) -> None:
        """Keep `payload` retained on `topic` (any topic the broker lets this hub write, e.g. Home
        Assistant's): latest value only, QoS 0, sent again after every reconnect (hub.core.uplink.retained).
        Never for alarms: those are events (`raise_event`)."""
        ...

    def on_delivered(self, listener: DeliveryListener) -> None:
        """Hear that an event reached the broker (its PUBACK): "呼叫已送达" for a call saved offline."""
        ...

    def on_event(self, listener: EventListener) -> None:
        """Hear every event once it is committed (simulation and tests wait on these)."""
        ...

    def notify_button(self, pin: int, action: str) -> None:
        """Called by the button owner: fans out to `on_button` listeners."""
        ...

    def component(self, name: str) -> Any:
        """Another running component by name, or None: simulation glue, and a capability's public API called
        through a Protocol of the caller's own (hub.voicecall -> "cellular" `dial()`), never an import."""
        ...

    @property
    def online(self) -> bool:
        """Connected to the broker right now."""
        ...


class Component(Protocol):
    name: str

    async def start(self, ctx: HubContext) -> None: ...

    async def close(self) -> None:
        """Idempotent."""
        ...
