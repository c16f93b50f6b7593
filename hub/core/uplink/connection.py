"""The connection half of the uplink: connect, honour the broker's CONNACK, stay alive, reconnect.

- Reconnect delay: exponential backoff with full jitter. It resets only after a connection has held
  `STABLE_S`: a broker that accepts and drops at once (a limit the hub broke, an ACL) is not hammered.
- A CONNACK refusal or a broker that will not speak MQTT 5 gets a specific message
  (hub.core.uplink.replies), kept in `last_error` for `hub status`.
- CONNACK limits are honoured: Maximum QoS, Receive Maximum, wildcard subscriptions, retain (the
  hub sends no topic aliases).
- Liveness and duplicate client ids: hub.core.uplink.liveness.
- Nothing the broker delivers can raise into paho: a last-resort guard logs and drops the message.
- paho's callbacks (CONNACK, a lost connection, commands): hub.core.uplink.link_events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
from collections.abc import Callable, Iterable
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.certificates.pair import client_pair
from hub.config.loader import Config
from hub.core.files import atomic_write
from hub.core.uplink import replies
from hub.core.uplink.hold import read_hold, write_hold
from hub.core.uplink.link_events import ClosedEarly, LinkEvents, Refused
from hub.core.uplink.liveness import LinkWatch, Takeovers, reconnect_delay, tick_delay
from hub.core.uplink.retained import StateTopics

log = logging.getLogger(__name__)

STABLE_S = 20.0  # a connection that held this long resets the reconnect backoff
CONNECT_TIMEOUT_S = 15.0  # TCP + TLS + CONNACK
SESSION_MARKER = "uplink-session.json"  # the broker this hub last had a session with


class Link(LinkEvents):
    def __init__(self, config: Config, on_command: Callable[[str, bytes], None],
                 commands: Callable[[], Iterable[str]]) -> None:
        self.config = config
        self.mqtt = config["mqtt"]
        self.on_command = on_command
        self.commands = commands
        self.base = config.topic_base
        self.topics = StateTopics(self.base)  # retained documents: config/desired, config/reported
        self.broker_name = f"{self.mqtt['host']}:{self.mqtt['port']}"
        self.connected = asyncio.Event()
        self.link_changed = asyncio.Event()  # set on every connect and disconnect
        self.last_error = ""
        self.limits = replies.Limits()
        self.window = self.mqtt["max_inflight"]
        self.watch = LinkWatch(self.mqtt["puback_timeout_s"], self.mqtt["ping_timeout_s"],
                               self.mqtt["keepalive_s"])
        self.takeovers = Takeovers(self.mqtt["duplicate_backoff_max_s"])
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._kick = asyncio.Event()
        self.watch.on_change = self._kick.set  # an urgent publish: its PUBACK deadline re-plans the tick
        self._attempt: asyncio.Future[None] | None = None
        self._blocking: asyncio.Future[Any] | None = None  # see hub.core.uplink.paho_loop
        self._opening: socket.socket | None = None
        self._connected_at = 0.0
        # An accepted connection that ended: (how long it held, 'Session taken over', closed by the
        # broker without a word after it had worked).
        self._dropped: tuple[float, bool, bool] | None = None
        self._maybe_taken = False
        self._working = False  # the broker has answered a SUBSCRIBE on this connection
        self._cutting = False  # the hub itself is closing a dead link
        self._was_connected = False
        self._hold_until = 0.0  # loop time before which nothing is sent (see _on_connect)
        self.held = read_hold(config.state_dir)  # why events wait though connected (hub.core.uplink.hold)
        if self.held:
            log.warning("events are held in the outbox until released: %s", self.held)
        self._will = {"qos": 1, "retain": True}
        self._marker = config.state_dir / SESSION_MARKER
        self._marker_text = json.dumps({"broker": self.broker_name, "client_id": config.hub_id})
        try:
            self._had_session = self._marker.read_text() == self._marker_text
        except (OSError, UnicodeDecodeError):
            self._had_session = False
        self._diagnosis = ""  # why the broker closes before CONNACK, probed once per failure streak
        self._closed = False
        self._planned = False  # the hub itself closed the link to reconnect (new client certificate)
        self.tls_pair = client_pair(config) if self.mqtt.get("tls") else None
        self.attempt_pair = self.tls_pair
        self._client = self._make_client()

    # --- connecting ------------------------------------------------------------------------------
    def backoff(self, failures: int) -> float:
        return reconnect_delay(failures, self.mqtt["reconnect_min_s"], self.mqtt["reconnect_max_s"], False)

    def _reconnect_backoff(self, failures: int) -> float:
        return reconnect_delay(failures, self.mqtt["reconnect_min_s"], self.mqtt["reconnect_max_s"],
                               self.urgent_waiting())

    def urgent_waiting(self) -> bool:
        """A call or an alarm waits for the connection (hub.core.uplink.session knows its rows)."""
        return False

    def kick(self) -> None:
        """Something urgent is waiting: cut a reconnect delay short."""
        self._kick.set()

    async def _pause(self, delay: float, until_lost: bool = False) -> None:
        """Sleep `delay`, cut short by kick() (or, with until_lost, by losing the connection)."""
        self._kick.clear()
        if until_lost and not self.connected.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), delay)

    async def run_connection(self) -> None:
        """Connect, and reconnect after every loss (see the module's docstring for the delays)."""
        failures = 0
        delay = 0.0
        while not self._closed:
            if self.connected.is_set():
                if failures and self._loop.time() - self._connected_at >= STABLE_S:
                    failures = 0
                if self.attempt_pair != self.tls_pair and not self._planned:
                    self._reconnect_with_new_pair()  # the certificate changed during the attempt (tls_switch)
                else:
                    self._tick()
                await self._pause(tick_delay(self.watch, self.takeovers, self._loop.time(), self._connected_at,
                                             self.mqtt["keepalive_s"], getattr(self._client, "_last_msg_out", None),
                                             STABLE_S if failures else None), until_lost=True)
                continue
            if self._dropped is not None:
                failures, delay = self._after_drop(failures)
            if delay and self.attempt_pair == self.tls_pair:
                await self._pause(delay)
                if self._closed:
                    break  # close() kicked the pause short: no new attempt
            try:
                await self._connect()
                delay = 0.0
                if self._maybe_taken:
                    # The broker closed a working connection without a word and let us straight back
                    # in: what a broker that sends no 'Session taken over' (mosquitto 2.0) does.
                    self._maybe_taken = False
                    self._taken_over("the broker closed a working connection and the next attempt "
                                     "connected at once", waiting=False)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not self._closed or (task is not None and task.cancelling()):
                    raise
                break  # close() abandoned the attempt (hub.core.uplink.paho_loop): the task just ends
            except (OSError, TimeoutError, ValueError, Refused) as exc:  # ssl.SSLError is an OSError
                self._attempt_failed()
                self._maybe_taken = False
                self._drop_socket()
                failures += 1
                delay = 0.0 if isinstance(exc, Refused) and exc.retry_now else self._reconnect_backoff(failures)
                if isinstance(exc, ClosedEarly):
                    self.last_error = str(exc)
                    if not self._diagnosis:
                        self._diagnosis = await self._diagnose()
                    self.last_error = self._diagnosis
                elif isinstance(exc, Refused):
                    self.last_error = str(exc)
                else:
                    self.last_error = f"broker {self.broker_name} unreachable: {type(exc).__name__}: {exc}"
                log.warning("%s; retry in %.1f s", self.last_error, delay)

    def _after_drop(self, failures: int) -> tuple[int, float]:
        """An accepted connection ended: (failures, delay before the next attempt)."""
        assert self._dropped is not None
        held, taken, silent = self._dropped
        self._dropped = None
        if self._planned:
            self._planned = False
            return failures, 0.0
        if taken or (silent and self.takeovers.in_a_row):
            return failures, self._taken_over("MQTT 5 'Session taken over'" if taken else
                                              "the broker closed a working connection again")
        self._maybe_taken = silent
        if held >= STABLE_S:
            return 0, random.uniform(0, self.mqtt["reconnect_min_s"])
        delay = self._reconnect_backoff(failures + 1)
        log.warning("the broker dropped the connection after %.1f s (attempt %d); retry in %.1f s",
                    held, failures + 1, delay)
        return failures + 1, delay

    async def _connect(self) -> None:
        self._attempt = self._loop.create_future()
        self.attempt_pair = self.tls_pair  # the client certificate this attempt presents
        self._client.will_set(f"{self.base}/status", json.dumps({"state": "offline", "hub": self.config.hub_id}),
                              qos=self._will["qos"], retain=bool(self._will["retain"]))
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.mqtt["session_expiry_s"]
        try:
            await self._off_loop("uplink-connect", lambda: self._client.connect(
                self.mqtt["host"], self.mqtt["port"], self.mqtt["keepalive_s"], clean_start=False, properties=props))
        finally:
            self._opening = None  # set up (or failed): close() no longer shuts it from under paho
        try:
            await asyncio.wait_for(asyncio.shield(self._attempt), timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            # Connected, CONNECT sent, no answer: what a 3.1.1-only broker that cannot parse an MQTT 5
            # CONNECT does (amqtt), not an unreachable one. The diagnosis probe tells which.
            raise ClosedEarly(f"broker {self.broker_name} accepted the connection but did not answer the MQTT 5 "
                              f"CONNECT within {CONNECT_TIMEOUT_S:.0f} s (no CONNACK)") from None
        if not self._had_session:
            self._had_session = True
            try:
                await asyncio.to_thread(atomic_write, self._marker, self._marker_text.encode(), 0o644)
            except OSError as exc:
                log.warning("cannot write %s: %s", self._marker, exc)

    async def _diagnose(self) -> str:
        code = await self._off_loop("uplink-probe", lambda: replies.probe_v311(
            self.mqtt, f"{self.config.hub_id}-v311probe", pair=self.tls_pair))
        return replies.closed_before_connack(self.mqtt["host"], self.mqtt["port"], code)

    # --- liveness -------------------------------------------------------------------------------
    def _tick(self) -> None:
        self._client.loop_misc()  # paho's own keepalive
        now = self._loop.time()
        verdict = self.watch.check(now)
        if verdict == "ping":
            # paho has no public ping; its PINGREQ sender is stable across 1.x and 2.x.
            ping = getattr(self._client, "_send_pingreq", None)
            if ping is not None:
                ping()
                self._client.loop_write()
        elif verdict == "dead":
            waited = "a call's PUBACK" if self.watch.awaiting else "any traffic"
            self.last_error = (f"no answer from {self.broker_name} (waited for {waited}, then a ping for "
                               f"{self.watch.ping_timeout_s:.0f} s): the link is dead; reconnecting")
            log.warning("%s", self.last_error)
            self._cut()
        if self.takeovers.fault_id is not None and self.takeovers.held(now - self._connected_at):
            log.info("no takeover of this hub's client id for a while: duplicate id fault cleared")
            self._duplicate_id(None)
        elif self.takeovers.in_a_row:
            self.takeovers.held(now - self._connected_at)

    @property
    def suspect(self) -> bool:
        """Connected, but not a link a call can count on: overdue, probing, or no PUBACK possible."""
        return self.limits.max_qos < 1 or self.watch.suspect(self._loop.time())

    def _sending(self) -> bool:
        return (self.connected.is_set() and self._loop.time() >= self._hold_until
                and self.limits.max_qos >= 1 and not self.held)

    def hold(self, reason: str) -> None:
        """Keep events in the outbox while connected ('' sends them again): hub.core.uplink.hold."""
        if reason and reason != self.held:
            log.warning("events held in the outbox: %s", reason)
        elif self.held and not reason:
            log.info("events no longer held: sending the outbox")
        self.held = reason
        if not reason:
            write_hold(self.config.state_dir, "")  # an unlink: no fsync on the loop
            self._wake.set()

    # --- hooks for the delivery half (and LinkEvents' _connected, _duplicate_id) -----------------
    def _attempt_failed(self) -> None:
        """A connection attempt failed (hub.core.uplink.tls_switch counts them)."""

    def _reconnect_with_new_pair(self) -> None:
        """Connected presenting a certificate no longer wanted: a planned reconnect (tls_switch)."""

    # --- closing ---------------------------------------------------------------------------------
    async def _close_link(self) -> None:
        self._closed = True
        self._wake.set()
        self._kick.set()
        if not self.connected.is_set():
            # An attempt to a broker that refuses or never answers must not hold the stop until
            # CONNECT_TIMEOUT_S; the connection task also ends on its own if its cancel is lost.
            self._abandon()
        if self.connected.is_set():
            # A clean stop is not a fault: say offline ourselves, since the broker won't send the will.
            self._client.publish(f"{self.base}/status",
                                 json.dumps({"state": "offline", "hub": self.config.hub_id}),
                                 qos=min(1, self.limits.max_qos), retain=self.limits.retain)
            await asyncio.sleep(0.05)
            self._client.disconnect()
            # Write the DISCONNECT now (paho closes its socket once it is out): the loop's writer is
            # removed next, and a socket left to the garbage collector is a leak (ResourceWarning).
            with contextlib.suppress(Exception):
                self._client.loop_write()
        self._drop_socket()
        sock = self._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        self._unhook()

