"""The uplink reconnecting with a new TLS client certificate (certificate rotation, hub/device/).

The switch is quiet: nothing new is handed to paho, the events already sent get their PUBACK first,
then the hub disconnects cleanly (no Last Will, the session kept) and connects presenting the new
pair. Events raised meanwhile wait in the outbox and go out once, on the new connection. The trial
ends as soon as the broker has accepted the pair, or has refused it twice in a row (a refused
certificate does not become acceptable by waiting), or after the caller's time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from hub.core.uplink.replies import tls_context

log = logging.getLogger(__name__)

REFUSALS_TO_GIVE_UP = 2


class CertSwitch:
    """Mixin for hub.core.uplink.session.Uplink (it holds the attributes below)."""

    mqtt: dict[str, Any]
    connected: asyncio.Event
    last_error: str
    tls_pair: tuple[str, str] | None
    attempt_pair: tuple[str, str] | None
    kick: Callable[[], None]
    _loop: asyncio.AbstractEventLoop
    _client: paho.Client
    _sent: dict[int, Any]
    _idle: asyncio.Event
    _wake: asyncio.Event
    _hold_until: float
    _planned: bool
    _switched: asyncio.Future[bool] | None = None  # True: accepted; False: refused twice
    _switch_failures = 0

    async def use_client_cert(self, pair: tuple[str, str], timeout: float) -> str:
        """Reconnect presenting `pair` (cert, key): '' once the broker accepted it, else why not. Raises
        OSError or ssl.SSLError when the files are not a usable pair."""
        context = await asyncio.to_thread(tls_context, self.mqtt["tls"], pair)
        self._hold_until = math.inf  # hand paho nothing new
        try:
            if self._sent and self.connected.is_set():
                self._idle.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self.mqtt["puback_timeout_s"])
            # paho has no public way to change the TLS context of a client once it has been set.
            self._client._ssl_context = context
            self.tls_pair = pair
            self._switched = self._loop.create_future()
            self._switch_failures = 0
            log.info("reconnecting with client certificate %s", pair[0])
            if self.connected.is_set():
                self._reconnect_with_new_pair()
            else:
                # An attempt in flight presents the previous pair: run_connection reconnects once it
                # has connected (attempt_pair != tls_pair), or tries the new pair at once if it failed.
                self.kick()
            if await asyncio.wait_for(asyncio.shield(self._switched), timeout):
                return ""
            return self.last_error or "the broker refused the connection"
        except TimeoutError:
            return self.last_error or f"no connection with the new certificate within {timeout:.0f} s"
        finally:
            self._switched = None
            if self._hold_until == math.inf:
                self._hold_until = 0.0
            self._wake.set()

    def _reconnect_with_new_pair(self) -> None:
        """A clean disconnect (no Last Will, the session kept); run_connection reconnects at once."""
        self._planned = True
        self._client.disconnect()
        with contextlib.suppress(Exception):
            self._client.loop_write()

    def _switch_settled(self, accepted: bool) -> None:
        """A connection attempt presenting the new pair succeeded, or failed."""
        switched = self._switched
        if switched is None or switched.done() or self.attempt_pair != self.tls_pair:
            return  # not switching, or an attempt begun with the previous pair
        if accepted:
            switched.set_result(True)
            return
        self._switch_failures += 1
        if self._switch_failures >= REFUSALS_TO_GIVE_UP:
            switched.set_result(False)

    def _attempt_failed(self) -> None:
        self._switch_settled(False)
