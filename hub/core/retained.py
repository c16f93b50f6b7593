"""Latest-value messages for readers other than the platform (the Home Assistant bridge's discovery
documents and states), outside the outbox.

An alarm goes through the outbox and is never lost; these are pictures of the present: each topic
keeps only its latest payload, published retained when it changes and again after every reconnect,
at QoS 0 (hub.core.uplink.Uplink.publish_state), so they never queue ahead of a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Publish = Callable[[str, str], bool]  # (topic, payload) -> sent now


class RetainedStates:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._latest: dict[str, str] = {}

    def set(self, topic: str, payload: str) -> None:
        """Make `payload` the state on `topic`: sent now if connected, else on the next connect."""
        if self._latest.get(topic) == payload:
            return
        self._latest[topic] = payload
        self._publish(topic, payload)

    def republish(self) -> None:
        """After a (re)connect: a broker that lost its retained messages gets them all back."""
        for topic, payload in self._latest.items():
            self._publish(topic, payload)

    def topics(self) -> list[str]:
        return list(self._latest)
