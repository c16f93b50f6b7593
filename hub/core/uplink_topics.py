"""State topics under the hub's own base, beside the commands: documents the platform keeps for this hub
(retained, e.g. `config/desired`) and documents the hub keeps for the platform (retained, e.g.
`config/reported`).

Unlike `cmd/NAME`, a retained message here is the point: the broker hands the platform's latest
document to the hub on every subscribe. An empty payload is the platform clearing its retained document.
The hub's own documents are published retained with QoS 1 at once when connected, and the latest of
each is published again on every connect (a broker without persistence forgets retained messages).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TopicHandler = Callable[[bytes], None]  # raw payload, b"" = the retained document was cleared


class StateTopics:
    def __init__(self, base: str) -> None:
        self.base = base
        self._handlers: dict[str, TopicHandler] = {}
        self._documents: dict[str, bytes] = {}
        self._client: Any = None  # paho client while connected
        self._qos = 1
        self._retain = True

    def watch(self, suffix: str, handler: TopicHandler) -> None:
        self._handlers[suffix] = handler
        if self._client is not None:
            self._client.subscribe(f"{self.base}/{suffix}", self._qos)

    def publish(self, suffix: str, body: dict[str, Any]) -> None:
        self._documents[suffix] = json.dumps(body, ensure_ascii=False).encode()
        if self._client is not None:
            self._send(suffix)

    def connected(self, client: Any, max_qos: int, retain: bool) -> None:
        """On every CONNACK: subscribe to the watched topics and publish the hub's documents again."""
        self._client, self._qos, self._retain = client, min(1, max_qos), retain
        if self._handlers:
            client.subscribe([(f"{self.base}/{suffix}", self._qos) for suffix in self._handlers])
        for suffix in self._documents:
            self._send(suffix)

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

    def _send(self, suffix: str) -> None:
        self._client.publish(f"{self.base}/{suffix}", self._documents[suffix], qos=self._qos, retain=self._retain)
