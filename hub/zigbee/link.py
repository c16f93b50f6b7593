"""A second MQTT connection, to the unit's own broker where zigbee2mqtt publishes: not the platform uplink.

The uplink (hub.core.uplink) is the link to the platform's broker, with its TLS, queue and session. The
zigbee2mqtt broker is a local mosquitto bound to loopback: its own plain connection, on its own thread
(paho's `loop()` there; blocking socket work stays off the asyncio loop), with exponential backoff and
full jitter between attempts. Every message is handed to the loop as (topic, payload, retained).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes, bool], None]  # (topic, payload, retained) on the asyncio loop
MIN_DELAY_S, MAX_DELAY_S = 0.5, 30.0
PUBLISH_WAIT_S = 1.0  # a valve command waits this long for the local broker's PUBACK, never longer


class LocalLink:
    def __init__(self, host: str, port: int, client_id: str, subscriptions: list[str], on_message: Handler,
                 on_state: Callable[[bool], None] = lambda up: None) -> None:
        self.host, self.port = host, port
        self.subscriptions = subscriptions
        self._on_message, self._on_state = on_message, on_state
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self.connected = False
        self.attempts = 0
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_publish = self._published
        self._thread = threading.Thread(target=self._run, name=f"zigbee-link-{client_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # --- the link's own thread -----------------------------------------------------------------------
    def _run(self) -> None:
        delay = MIN_DELAY_S
        while not self._stop.is_set():
            self.attempts += 1
            try:
                self.client.connect(self.host, self.port, keepalive=30)
            except (OSError, ValueError) as exc:
                wait = random.uniform(0, delay)  # full jitter: a fleet restarted together spreads out
                log.warning("zigbee2mqtt broker %s:%d not reachable (%s): retry in %.1f s", self.host, self.port,
                            exc, wait)
                delay = min(delay * 2, MAX_DELAY_S)
                self._stop.wait(wait)
                continue
            while not self._stop.is_set():
                if self.client.loop(timeout=0.5) != mqtt.MQTT_ERR_SUCCESS:
                    break
            if self.connected:  # it held: the next attempt starts from the shortest delay again
                self.connected = False
                delay = MIN_DELAY_S
                self._loop.call_soon_threadsafe(self._on_state, False)
            else:  # refused, or dropped before CONNACK: back off
                delay = min(delay * 2, MAX_DELAY_S)
            if not self._stop.is_set():
                self._stop.wait(random.uniform(0, delay))
        with contextlib.suppress(OSError, ValueError):
            self.client.disconnect()

    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("zigbee2mqtt broker refused the connection: %s", reason)
            return
        for topic in self.subscriptions:
            client.subscribe(topic, qos=1)
        self.connected = True
        self._loop.call_soon_threadsafe(self._on_state, True)

    def _disconnected(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        log.info("zigbee2mqtt broker connection closed (%s)", reason)

    def _message(self, client: Any, userdata: Any, message: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._on_message, str(message.topic), bytes(message.payload),
                                            bool(message.retain))

    def _published(self, client: Any, userdata: Any, mid: int, reason: Any = None, props: Any = None) -> None:
        with self._lock:
            future = self._acks.pop(mid, None)
        if future is not None:
            self._loop.call_soon_threadsafe(_resolve, future)

    # --- from the asyncio loop ------------------------------------------------------------------------
    async def publish(self, topic: str, payload: str, wait_s: float = PUBLISH_WAIT_S) -> bool:
        """Publish at QoS 1 and wait (at most `wait_s`) for the local broker's PUBACK: True once it has it."""
        if not self.connected:
            return False
        future: asyncio.Future[None] = self._loop.create_future()
        with self._lock:  # the PUBACK may come back before publish() returns: register under the lock
            info = self.client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            self._acks[info.mid] = future
        try:
            await asyncio.wait_for(future, wait_s)
            return True
        except TimeoutError:
            with self._lock:
                self._acks.pop(info.mid, None)
            return False

    def publish_nowait(self, topic: str, payload: str, retain: bool = False) -> None:
        if self.connected:
            self.client.publish(topic, payload, qos=1, retain=retain)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(3)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
