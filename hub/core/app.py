"""The coordinator: owns the outbox, uplink, voice and LEDs, and runs the components on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, tzinfo
from typing import Any

from hub import __version__
from hub.alarms.card import ContextCard
from hub.alarms.registry import AlarmRegistry
from hub.config.loader import Config
from hub.core import memory, sdnotify
from hub.core.activity import ActivityStream
from hub.core.clock import Clock, zone_named
from hub.core.command_router import CommandRouter
from hub.core.components import build_all
from hub.core.context import Component, Hardware
from hub.core.control import ControlServer, socket_path
from hub.core.events import Event, Priority
from hub.core.hooks import Hooks
from hub.core.listeners import tell_all
from hub.core.loglimit import clip
from hub.core.outbox import Row, StateChange, storage_failure
from hub.core.resident_voice import ResidentVoice
from hub.core.storage_watch import StorageWatch
from hub.core.store import Store
from hub.core.uplink.session import Uplink
from hub.speech.feedback import Feedback
from hub.speech.player import Player
from hub.speech.questions import PressAnswers
from hub.speech.queue import SpeechQueue, speech_from_config

log = logging.getLogger(__name__)
_UNSET = object()  # set_status: a key never set differs from any value, None included


def _zone(name: str) -> tzinfo | None:
    zone = zone_named(name)
    if zone is None:
        log.warning("unknown time zone %r in [hub] timezone; using the system's", name)
    return zone


class Hub(ResidentVoice, Hooks):
    """Implements hub.core.context.HubContext for the components."""

    def __init__(self, config: Config, hardware: Hardware, clock: Clock | None = None,
                 player: Player | None = None) -> None:
        """`player`: how a WAV is heard (default `aplay` on [voice] device; tests pass a timed one)."""
        self.config = config
        self.hardware = hardware
        self.clock = clock or Clock(_zone(config["hub"]["timezone"]))
        self.activity = ActivityStream()
        self.started = time.monotonic()
        self._status: dict[str, Any] = {}
        self._answers = PressAnswers(self.clock.monotonic)  # questions and press claims
        self._player = player
        self._tasks: set[asyncio.Task[Any]] = set()
        self._components: list[Component] = []
        self._db_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._stopping = asyncio.Event()
        self.outbox: Store | None = None  # the SQLite outbox, or memory while the card fails
        self.storage: StorageWatch | None = None
        self.uplink: Uplink | None = None
        self.speech: SpeechQueue | None = None
        self.leds: Feedback | None = None
        self.control: ControlServer | None = None
        self._init_hooks({"status": self._control_status, "spoken": self._control_spoken})
        self.notifier = sdnotify.Notifier()
        # The platform sees an alarm's change at once (the status is refreshed).
        self.alarms = AlarmRegistry(self, self.commit, config.state_dir,
                                    lambda: self.uplink.refresh_status() if self.uplink else None)
        self.card = ContextCard(config, lambda: self._status, self.clock.monotonic)  # every alarm event's data.context
        self.card.attach(self.activity, self.alarms, self.on_event)
        self.commands = CommandRouter(lambda: int(config["mqtt"]["max_payload_bytes"]), self.spawn,
                                      ack=self.alarms.ack_command, pong=self._pong)

    # --- HubContext -------------------------------------------------------------------------------
    async def raise_event(self, event_type: str, data: dict[str, Any], ts: datetime | None = None) -> Event:
        return await self.commit(Event(event_type, data, ts or self.clock.now()))

    async def commit(self, event: Event, state: StateChange | None = None) -> Event:
        """Commit `event` and the state it changes (one transaction), then offer it to the uplink."""
        assert self.outbox is not None and self.uplink is not None and self.storage is not None
        if event.priority == Priority.URGENT:
            # On the loop: the DB thread's two scheduler wake-ups take longer than the fsync on a busy
            # Pi Zero, and nothing matters more than the call. It leaves while the card syncs (`sending`).
            row, saved = self.outbox.add(event, state, self._offer_early)
        else:
            row, saved = await self.db(self.outbox.add, event, state)
        # Saved or not (a full or read-only card: hub.core.store), it goes out now; a row already
        # offered early is not offered twice (the uplink knows it by id and seq).
        self.uplink.offer(row)
        log.info("event %s %s seq=%d%s %s", event.type, event.id, row.seq, "" if saved else " UNSAVED",
                 clip(json.dumps(event.data, ensure_ascii=False)))
        if not saved:
            self.storage.unsaved(event)
        tell_all(self._event_listeners, "event", event)
        return event

    def _offer_early(self, row: Row) -> None:
        assert self.uplink is not None
        try:  # inside the commit's transaction: a failure here must not cost the event its commit
            self.uplink.offer(row)
        except Exception:
            log.exception("uplink: %s could not be offered before its commit; offered after it", row.id)

    def saved(self, event_id: str) -> bool:
        return self.outbox is not None and not self.outbox.is_unsaved(event_id)

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s died", task.get_name(), exc_info=task.exception())

    def set_status(self, key: str, value: Any, *, now: bool = False) -> None:
        changed = self._status.get(key, _UNSET) != value
        self._status[key] = value
        if now and changed and self.uplink is not None:
            self.uplink.refresh_status()

    def watch_topic(self, suffix: str, handler: Callable[[bytes], None]) -> None:
        assert self.uplink is not None
        self.uplink.topics.watch(suffix, handler)

    def publish_retained(self, suffix: str, body: dict[str, Any]) -> None:
        assert self.uplink is not None
        self.uplink.topics.publish(suffix, body)

    def restart(self, reason: str) -> None:
        log.warning("restarting (systemd starts the hub again): %s", reason)
        self._stopping.set()

    def hold_events(self, reason: str) -> None:
        if self.uplink is not None:
            self.uplink.hold(reason)

    def publish_state(self, topic: str, payload: str) -> None:
        assert self.uplink is not None
        self.uplink.topics.keep(topic, payload.encode(), qos=0)

    def component(self, name: str) -> Any:
        return next((c for c in self._components if c.name == name), None)

    @property
    def online(self) -> bool:
        """Connected, and the link is not under suspicion (an overdue PUBACK, an unanswered ping)."""
        return self.uplink is not None and self.uplink.connected.is_set() and not self.uplink.suspect

    # --- internals --------------------------------------------------------------------------------
    def db(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(self._db_pool, fn, *args)

    async def status(self) -> dict[str, Any]:
        depth = self.outbox.depth() if self.outbox is not None else {}  # counts kept in memory
        return {"hub": self.config.hub_id, "version": __version__,
                "state": "online" if self.online else "offline",
                "uptime_s": round(time.monotonic() - self.started),
                "queue_depth": sum(depth.values()), "queue": depth,
                "in_flight": self.uplink.in_flight if self.uplink else 0,
                "last_error": self.uplink.last_error if self.uplink else "",
                **({"uplink_faults": faults} if (faults := self.uplink.faults() if self.uplink else []) else {}),
                **self._status}

    async def _pong(self, request: dict[str, Any]) -> None:
        await self.raise_event("system.pong", {"request": request, "online": self.online})

    async def use_client_cert(self, pair: tuple[str, str], timeout: float) -> str:
        assert self.uplink is not None
        return await self.uplink.use_client_cert(pair, timeout)

    def _on_command(self, name: str, payload: bytes) -> None:  # tests feed commands here
        self.commands.received(name, payload)

    async def _control_status(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self.status()

    async def _control_spoken(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"spoken": self.speech.recent() if self.speech else []}

    # --- lifecycle --------------------------------------------------------------------------------
    async def run(self) -> None:
        cfg = self.config
        # The state dir exists and is ours (hub.config.environment, checked before we got here); a
        # card that is full or read-only now does not stop the hub (hub.core.store).
        self.outbox = Store(cfg.state_dir / "outbox.db", cfg.hub_id, cfg.topic_base, cfg["outbox"]["max_rows"])
        self.alarms.load(self.outbox.transact)
        self.speech = speech_from_config(cfg, self._player)
        self.speech.facts = self.alarms.facts  # a prompt's claim is checked against its alarm (hub.speech.claims)
        self.leds = Feedback(self.hardware.gpio, cfg["outputs"]["status_led_pin"],
                             cfg["outputs"]["buzzer_pin"])
        self.uplink = Uplink(cfg, self.outbox, self.db, self._on_command, self.status, report=self.raise_event,
                             spawn=self.spawn, commands=self.commands.names)
        self.uplink.on_delivered = self._delivered
        self.control = ControlServer(socket_path(cfg.state_dir), self._control_handlers,
                                     self._control_cancel_on_hangup)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        try:
            self.storage = StorageWatch(self.outbox, say=self.say, raise_event=self.raise_event,
                                        set_status=self.set_status, spawn=self.spawn, db=self.db,
                                        retry_s=cfg["outbox"]["storage_retry_s"], on_fault=self._card_failing)
            if self.speech.enabled:
                self.spawn("speech.queue", self.speech.run())
            self.spawn("uplink.connection", self.uplink.run_connection())
            self.spawn("uplink.sender", self.uplink.run_sender())
            self.spawn("uplink.status", self.uplink.run_status())
            self.spawn("feedback.link", self._watch_link())
            self.storage.start()
            self._components = build_all(cfg, self.hardware, before_ready=True)
            for component in self._components:
                await self._start(component)
            # The first press works from here: systemd hears READY now, the optional parts load after it
            self.notifier.ready(f"hub {cfg.hub_id} running; {len(sys.modules)} modules loaded")
            # Rendering the prompt catalogue (espeak-ng and sox in worker threads) after READY, not competing
            # with start-up for the CPU; a prompt asked for before then is rendered on demand.
            warm = self.speech.warm() if self.speech.enabled and cfg["voice"]["prerender"] else None
            self.spawn("speech.warm", memory.trim_after(warm))  # then start-up's freed heap goes back
            for component in build_all(cfg, self.hardware, before_ready=False):
                self._components.append(component)
                await self._start(component)
            try:
                await self.control.start()
            except OSError as exc:  # a read-only card cannot take the socket file: calls still work
                log.error("control socket %s unavailable (%s): `hub status` and `hub sim` will not reach "
                          "this hub until it restarts on a writable card", self.control.path, exc)
            log.info("hub %s running (%s); control socket %s", cfg.hub_id,
                     "simulated hardware" if self.hardware.simulated else "hardware", self.control.path)
            memory.trim()
            self.spawn("systemd.watchdog", self.notifier.watchdog_loop())
            await self._stopping.wait()
        finally:
            await self.close()

    async def _start(self, component: Component) -> None:
        try:
            await component.start(self)
        except (OSError, sqlite3.Error) as exc:
            if storage_failure(exc) is None:
                raise
            # Its own files are on the failed card; the calls, the uplink and the other parts are not.
            log.error("%s not started: the SD card refuses its files (%s); calls still work", component.name, exc)

    async def _watch_link(self) -> None:
        assert self.uplink is not None
        while True:
            await self.uplink.link_changed.wait()
            self.uplink.link_changed.clear()
            self.feedback("online" if self.online else "offline")

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        self.notifier.stopping()
        if self.control is not None:
            await self.control.close()
        self.alarms.stop()
        for component in reversed(self._components):
            try:
                await component.close()
            except Exception:
                log.exception("closing %s failed", component.name)
        if self.uplink is not None:
            await self.uplink.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.leds is not None:
            self.leds.close()
        self._db_pool.shutdown(wait=True)
        if self.outbox is not None:
            self.outbox.close()
        self.notifier.close()
