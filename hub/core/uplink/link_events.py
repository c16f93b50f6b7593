"""paho's callbacks for the connection half of the uplink (hub.core.uplink.connection.Link): CONNACK and
its limits, a lost connection, commands from the broker, takeovers of the client id. All run on the loop
thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt

from hub.config.loader import Config
from hub.core.uplink import replies
from hub.core.uplink.liveness import LinkWatch, Takeovers
from hub.core.uplink.paho_loop import PahoOnLoop
from hub.core.uplink.retained import StateTopics

log = logging.getLogger(__name__)


class Refused(Exception):
    """The broker refused a connection attempt; the message is for the installer."""

    def __init__(self, message: str, retry_now: bool = False) -> None:
        super().__init__(message)
        self.retry_now = retry_now  # the next attempt avoids what was refused (the Last Will's options)


class ClosedEarly(Refused):
    """The broker closed the connection without answering CONNECT."""


class LinkEvents(PahoOnLoop):
    """Mixin for Link, which sets the attributes below in its __init__."""

    config: Config
    on_command: Callable[[str, bytes], None]
    commands: Callable[[], Iterable[str]]
    base: str
    topics: StateTopics
    broker_name: str
    connected: asyncio.Event
    link_changed: asyncio.Event
    last_error: str
    limits: replies.Limits
    window: int
    takeovers: Takeovers
    watch: LinkWatch
    _wake: asyncio.Event
    _kick: asyncio.Event
    _attempt: asyncio.Future[None] | None
    _connected_at: float
    _dropped: tuple[float, bool, bool] | None
    _working: bool
    _was_connected: bool
    _had_session: bool
    _hold_until: float
    _will: dict[str, int | bool]
    _diagnosis: str
    _closed: bool
    _planned: bool

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            code = int(reason.value)
            retry_now = ((code == replies.RETAIN_NOT_SUPPORTED and bool(self._will["retain"]))
                         or (code == replies.QOS_NOT_SUPPORTED and self._will["qos"] == 1))
            if code == replies.RETAIN_NOT_SUPPORTED:
                self._will["retain"] = False
            elif code == replies.QOS_NOT_SUPPORTED:
                self._will["qos"] = 0
            message = replies.connack_refusal(reason, self.mqtt["host"], self.mqtt["port"])
            log.error("%s", message)
            self._settle(Refused(message, retry_now))
            return
        now = self._loop.time()
        self.limits = replies.Limits.from_connack(props)
        # paho ignores Receive Maximum, so the hub keeps under it itself (one left for the status).
        self.window = max(1, min(self.mqtt["max_inflight"], self.limits.receive_max - 1))
        differences = self.limits.differences(self.mqtt["session_expiry_s"])
        if differences:
            log.warning("broker %s limits: %s", self.broker_name, "; ".join(differences))
        log.info("connected to %s%s", self.broker_name, "" if flags.session_present else " (no session)")
        self.last_error = "" if self.limits.max_qos >= 1 else (
            f"broker {self.broker_name} allows only QoS 0, so it cannot confirm a call: events stay queued "
            "until its Maximum QoS is at least 1 (mosquitto: max_qos)")
        if not flags.session_present and (self._was_connected or self._had_session):
            # The broker lost its sessions (restarted without persistence), so the platform's
            # subscriptions too: a backlog sent at once would be PUBACKed and dropped before they
            # re-subscribe. Also after a hub restart, when this hub had a session there before.
            grace = self.mqtt["resubscribe_grace_s"]
            log.warning("the broker has no session for this hub (restarted without persistence?); "
                        "holding the backlog %.1f s while subscribers reconnect", grace)
            self._hold_until = now + grace
            self._loop.call_later(grace, self._wake.set)
        self._was_connected = True
        self._working = False
        self._cutting = False
        self._diagnosis = ""
        self._connected_at = now
        self.watch.connected(now)
        qos = min(1, self.limits.max_qos)
        names = ["#"] if self.limits.wildcards else sorted(set(self.commands()))
        client.subscribe([(f"{self.base}/cmd/{name}", qos) for name in names])
        self.topics.connected(client, self.limits.max_qos, self.limits.retain)
        self.connected.set()
        self.link_changed.set()
        self._connected()
        self._settle(None)

    def _settle(self, error: Exception | None) -> None:
        attempt = self._attempt
        if attempt is not None and not attempt.done():
            if error is None:
                attempt.set_result(None)
            else:
                attempt.set_exception(error)
                attempt.exception()  # retrieved: a timed-out waiter must not leave it unobserved

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       props: Any) -> None:
        if self.connected.is_set():
            held = self._loop.time() - self._connected_at
            code = int(getattr(reason, "value", 0))
            from_server = bool(getattr(flags, "is_disconnect_packet_from_server", False))
            silent = (not from_server and self._working and not self._cutting and not self._closed
                      and not self._planned)
            self._dropped = (held, from_server and code == replies.TAKEN_OVER, silent)
            self.last_error = f"connection lost: {reason}"
            log.warning("lost the broker connection after %.1f s: %s", held, reason)
        else:
            self._settle(ClosedEarly(f"broker {self.broker_name} closed the connection before accepting it "
                                     f"(no CONNACK; {reason})"))
        self.connected.clear()
        self.topics.disconnected()
        self.link_changed.set()
        self._kick.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self._working = True

    def _taken_over(self, sign: str, waiting: bool = True) -> float:
        delay, self.last_error, fault = self.takeovers.taken_over(sign, waiting, self.config.hub_id,
                                                                  self.broker_name)
        log.warning("%s", self.last_error)
        if fault is not None:
            self._duplicate_id(fault)
        return delay

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # The last resort: whatever the payload or topic, nothing may raise into paho's read loop
        # (it would handle the same packet again, forever).
        try:
            topic = message.topic
            if self.topics.route(topic, bytes(message.payload)):
                return
            prefix = f"{self.base}/cmd/"
            if not topic.startswith(prefix):
                return
            if message.retain:
                log.warning("ignored retained command on %s (%d bytes): a command is an instruction for "
                            "now, not state; the platform should publish commands without retain",
                            topic[:120], len(message.payload))
                return
            self.on_command(topic[len(prefix):], bytes(message.payload))
        except Exception as exc:
            log.error("dropped a message the hub could not handle (%s: %s)", type(exc).__name__, str(exc)[:200])

    # --- hooks for the delivery half (hub.core.uplink.session) ------------------------------------
    def _connected(self) -> None:
        raise NotImplementedError

    def _duplicate_id(self, data: dict[str, Any] | None) -> None:
        raise NotImplementedError
