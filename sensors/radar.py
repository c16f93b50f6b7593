"""The fall radar on a UART: frames from drivers.radar become fall / presence observations.

The port is a pyserial-like object from the hardware seam (`open_serial(port, baudrate=, timeout=)`);
reading blocks, so it runs in a worker thread and hands observations to the loop. A lost or missing
port is retried with jittered exponential back-off and never stops the hub.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.radar import RadarFrame, RadarParser

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.2  # for a port that cannot cancel a blocked read; pyserial's can, and reads block
MOVING_LEVEL = 10  # body-movement parameter (0-100) above which someone is actively moving


@dataclass(frozen=True)
class RadarObservation:
    """kind: 'fall' (active = fall reported), 'presence', 'moving', 'residency' (stationary too long)."""

    kind: str
    active: bool
    level: int | None = None


def observe(frame: RadarFrame) -> RadarObservation | None:
    """The domain meaning of one frame, or None for frames the hub has no use for."""
    v = frame.value
    if v is None:
        return None
    if frame.kind == "fall":
        return RadarObservation("fall", v == 1)
    if frame.kind == "presence":
        return RadarObservation("presence", v == 1)
    if frame.kind == "motion":
        return RadarObservation("moving", v == 2, v)
    if frame.kind == "body_movement":
        return RadarObservation("moving", v >= MOVING_LEVEL, v)
    if frame.kind == "residency":
        return RadarObservation("residency", v == 1)
    return None


class RadarSensor:
    """Reads the radar until closed; `on_observation` is called on the event loop."""

    def __init__(self, open_serial: Callable[..., Any], port: str, baudrate: int,
                 on_observation: Callable[[RadarObservation], None],
                 backoff_min_s: float = 1.0, backoff_max_s: float = 60.0) -> None:
        self.port_name, self.baudrate = port, baudrate
        self._open_serial = open_serial
        self._on_observation = on_observation
        self._backoff = (backoff_min_s, backoff_max_s)
        self.parser = RadarParser()
        self.connected = False
        self.last_error = ""
        self._closed = threading.Event()
        self._port: Any = None
        self._lock = threading.Lock()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._closed.is_set():
            try:
                await asyncio.to_thread(self._read_until_closed, loop)
                failures = 0
            except Exception as exc:  # any port trouble: log it plainly and retry later
                self.connected = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                if failures == 0:
                    log.warning("跌倒雷达串口错误 fall radar on %s: %s; check wiring (TX->RX, 5V) "
                                "and the port", self.port_name, self.last_error)
                failures += 1
            finally:
                self._close_port()
            if self._closed.is_set():
                break
            low, high = self._backoff
            await asyncio.sleep(random.uniform(low, max(low, min(high, low * 2 ** failures))))

    def _read_until_closed(self, loop: asyncio.AbstractEventLoop) -> None:
        port = self._open_serial(self.port_name, baudrate=self.baudrate, timeout=READ_TIMEOUT_S)
        cancellable = callable(getattr(port, "cancel_read", None))
        if cancellable:  # block until bytes come: close() cancels the read (no wake-up 5 times a second)
            port.timeout = None
        with self._lock:
            self._port = port
        if self._closed.is_set():
            return
        self.connected = True
        while not self._closed.is_set():
            data = port.read(max(1, min(256, port.in_waiting))) if cancellable else port.read(256)
            if not data:
                continue
            for frame in self.parser.feed(data):
                obs = observe(frame)
                if obs is not None:
                    loop.call_soon_threadsafe(self._on_observation, obs)

    def _close_port(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        self.connected = False
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a port that is already gone must not matter
                log.debug("closing radar port failed", exc_info=True)

    def stats(self) -> dict[str, Any]:
        return {"connected": self.connected, "port": self.port_name, **self.parser.stats.as_dict(),
                "last_error": self.last_error}

    def close(self) -> None:
        """Idempotent: the reader thread's blocked read is cancelled (or ends at its next timeout)."""
        self._closed.set()
        with self._lock:
            port = self._port
        cancel = getattr(port, "cancel_read", None)
        if callable(cancel):
            try:
                cancel()
            except Exception:  # a port already closed has nothing to cancel
                log.debug("cancelling the radar read failed", exc_info=True)

    def __enter__(self) -> RadarSensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self._close_port()
