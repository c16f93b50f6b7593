"""A worn accelerometer over BLE (WitMotion, drivers.wearable) streamed as (N, 3) arrays in g.

`WearableSensor.run()` keeps a BleakClient connected (backend from the hardware seam), sets the
output rate, subscribes to the notify characteristic and passes each notification's samples to
`on_samples(acc, new_stream)`; `new_stream` is True for the first batch after every (re)connect so
the detector does not stitch two streams together. Reconnects back off with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.wearable import NOTIFY_UUID, WRITE_UUID, parse_notification, rate_command

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

SampleListener = Callable[["np.ndarray", bool], None]


class WearableSensor:
    def __init__(self, address: str, rate_hz: int, on_samples: SampleListener, client_backend: Any = None,
                 connect_timeout_s: float = 20.0, backoff_min_s: float = 1.0,
                 backoff_max_s: float = 60.0) -> None:
        self.address = address
        self.rate_hz = rate_hz
        self._on_samples = on_samples
        self._backend = client_backend
        self._timeout = connect_timeout_s
        self._backoff = (backoff_min_s, backoff_max_s)
        self._closed = asyncio.Event()
        self.connected = False
        self.samples = 0
        self.skipped_bytes = 0
        self.last_error = ""
        self._new_stream = True

    async def run(self) -> None:
        from bleak import BleakClient  # lazily: `import hub` must work without D-Bus

        failures = 0
        while not self._closed.is_set():
            lost = asyncio.Event()
            try:
                client = BleakClient(self.address, disconnected_callback=_setter(lost),
                                     timeout=self._timeout, backend=self._backend)
                async with client:
                    self.connected, self._new_stream, failures = True, True, 0
                    log.info("wearable %s connected", self.address)
                    await client.write_gatt_char(WRITE_UUID, rate_command(self.rate_hz), response=False)
                    await client.start_notify(NOTIFY_UUID, self._on_notify)
                    closed = asyncio.ensure_future(self._closed.wait())
                    gone = asyncio.ensure_future(lost.wait())
                    try:
                        await asyncio.wait((closed, gone), return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        closed.cancel()
                        gone.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # radio trouble, out of range, adapter busy: retry later
                self.last_error = f"{type(exc).__name__}: {exc}"
                if failures == 0:
                    log.warning("手环连接失败 wearable %s: %s; check it is charged and within range",
                                self.address, self.last_error)
                failures += 1
            finally:
                self.connected = False
            if self._closed.is_set():
                break
            low, high = self._backoff
            delay = random.uniform(low, max(low, min(high, low * 2 ** failures)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)

    def _on_notify(self, _char: Any, data: bytearray) -> None:
        samples, skipped = parse_notification(bytes(data))
        self.skipped_bytes += skipped
        if not samples:
            return
        self.samples += len(samples)
        import numpy as np  # loaded with the first samples: a hub without a wearable never needs it

        acc = np.array([s.acc_g for s in samples], dtype=np.float64)
        new, self._new_stream = self._new_stream, False
        try:
            self._on_samples(acc, new)
        except Exception:
            log.exception("wearable sample listener failed")

    def stats(self) -> dict[str, Any]:
        return {"connected": self.connected, "address": self.address, "samples": self.samples,
                "skipped_bytes": self.skipped_bytes, "last_error": self.last_error}

    def close(self) -> None:
        """Idempotent; run() disconnects and returns."""
        self._closed.set()


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    def on_disconnect(_client: Any) -> None:
        event.set()

    return on_disconnect
