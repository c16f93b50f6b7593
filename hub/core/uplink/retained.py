"""Retained state topics, beside the commands: documents the platform keeps for this hub under its base
(e.g. `config/desired`), documents the hub keeps for the platform (e.g. `config/reported`, QoS 1), and
latest-value pictures for other readers on any topic (the Home Assistant bridge: QoS 0, so they never
take an in-flight slot a call needs). None of them is an event: an alarm goes through the outbox.

Unlike `cmd/NAME`, a retained message here is the point: the broker hands the platform's latest
document to the hub on every subscribe. An empty payload is the platform clearing its retained document.
The hub's own documents are published retained at once when connected (an unchanged one is not sent
again), and the latest of each is published again on every connect (a broker without persistence
forgets retained messages).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hub.core.events import strict_json

log = logging.getLogger(__name__)

TopicHandler = Callable[[bytes], None]  # raw payload, b"" = the retained document was cleared


class StateTopics:
    def __init__(self, base: str) -> None:
        self.base = base
        self._handlers: dict[str, TopicHandler] = {}
        self._documents: dict[str, tuple[bytes, int]] = {}  # topic -> (latest payload, its QoS)
        self._client: Any = None  # paho client while connected
        self._qos = 1
        self._retain = True

    def watch(self, suffix: str, handler: TopicHandler) -> None:
        self._handlers[suffix] = handler
        if self._client is not None:
            self._client.subscribe(f"{self.base}/{suffix}", self._qos)

    def publish(self, suffix: str, body: dict[str, Any]) -> None:
        """The hub's document for the platform on `{base}/{suffix}`, QoS 1."""
        self.keep(f"{self.base}/{suffix}", strict_json(body, suffix).encode(), qos=1)

    def keep(self, topic: str, payload: bytes, qos: int = 0) -> None:
        """Make `payload` the retained picture on `topic`: sent now if connected, else on the next connect."""
        if self._documents.get(topic) == (payload, qos):
            return
        self._documents[topic] = (payload, qos)
        if self._client is not None:
            self._send(topic)

    def kept(self) -> list[str]:
        return list(self._documents)

    def connected(self, client: Any, max_qos: int, retain: bool) -> None:
        """On every CONNACK: subscribe to the watched topics and publish the hub's documents again."""
        self._client, self._qos, self._retain = client, min(1, max_qos), retain
        if self._handlers:
            client.subscribe([(f"{self.base}/{suffix}", self._qos) for suffix in self._handlers])
        for topic in self._documents:
            self._send(topic)

    def disconnected(self) -> None:
        self._client = None

    def route(self, topic: str, payload: bytes) -> bool:
        """True if `topic` is a watched state topic (and its handler has had the payload)."""
        handler = self._handlers.get(topic[len(self.base) + 1:]) if topic.startswith(self.base + "/") else None
        if handler is None:
            return False
        try:
            handler(payload)
        except Exception:
            log.exception("handling %s failed", topic[:120])
        return True

    def _send(self, topic: str) -> None:
        payload, qos = self._documents[topic]
        self._client.publish(topic, payload, qos=min(qos, self._qos), retain=self._retain)
