"""The proof that a new broker is the platform's: a CONNACK only says that *a* broker let the hub in.

While a change of `mqtt.host`, `port`, `username` or `password` is on trial, the hub keeps a probe
retained on its own `{prefix}/{hub}/selftest/config` (QoS 0): `{"version": N, "probe": "<16 hex>",
"ts": …}`. The change is confirmed only when both

1. the probe comes back to the hub through its subscription on that broker (the broker routes the
   hub's own messages: publish and subscribe rights, not a dead end), and
2. the platform answers on `{prefix}/{hub}/cmd/config_ack` with `{"version": N, "probe": "<the same>"}`
   (the platform reads this broker, and it is the platform: it read the probe the hub just made).

A broker no platform reads passes 1 and never 2, and the change is rolled back (docs/fleet.md,
docs/protocol.md). The probe is cleared (an empty retained message) once the trial ends.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from hub.core.context import HubContext
from hub.core.platform_commands import RateLimitedLog

log = logging.getLogger(__name__)

PROBE = "selftest/config"
ACK = "config_ack"


class BrokerProof:
    def __init__(self) -> None:
        self._ctx: HubContext | None = None
        self.version: int | None = None
        self.probe = ""
        self.came_back = False
        self.acked = False
        self._stray = RateLimitedLog(log)

    def start(self, ctx: HubContext) -> None:
        """Hear the platform's acks (always: an ack for no probe under way is logged and ignored)."""
        self._ctx = ctx
        ctx.add_platform_command(ACK, self._ack)

    def begin(self, version: int) -> None:
        """Publish a new probe for `version` on the broker the hub is connected to now."""
        assert self._ctx is not None
        self.version, self.probe = version, secrets.token_hex(8)
        self.came_back = self.acked = False
        self._ctx.watch_topic(PROBE, self._back)
        body = {"version": version, "probe": self.probe, "ts": self._ctx.clock.now().isoformat(timespec="milliseconds")}
        self._ctx.publish_state(self._topic(), json.dumps(body))
        log.info("config version %d: probe %s published on %s; waiting for it to come back and for the "
                 "platform's cmd/%s", version, self.probe, self._topic(), ACK)

    @property
    def proven(self) -> bool:
        return self.came_back and self.acked

    def why_not(self) -> str:
        if not self.probe:
            return "no connection to the broker"
        if not self.came_back:
            return "the hub's own probe did not come back through the new broker"
        return f"no platform ack (cmd/{ACK}) for the hub's probe: no platform reads the new broker"

    def end(self) -> None:
        if self._ctx is not None and self.probe:
            self._ctx.publish_state(self._topic(), "")  # clears the retained probe
        self.version, self.probe = None, ""

    def _topic(self) -> str:
        assert self._ctx is not None
        return f"{self._ctx.config.topic_base}/{PROBE}"

    def _back(self, payload: bytes) -> None:
        if not payload or not self.probe:
            return
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if isinstance(body, dict) and body.get("probe") == self.probe and not self.came_back:
            self.came_back = True
            log.info("config version %s: the probe came back through the broker", self.version)

    async def _ack(self, body: dict[str, Any]) -> None:
        if self.probe and body.get("probe") == self.probe and body.get("version") == self.version:
            if not self.acked:
                log.info("config version %s: the platform acknowledged the probe", self.version)
            self.acked = True
        else:
            self._stray.warning("cmd/%s for no probe under way (version %r, probe %r): ignored", ACK,
                        str(body.get("version"))[:20], str(body.get("probe"))[:40])
