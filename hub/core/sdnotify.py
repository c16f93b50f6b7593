"""A tiny sd_notify(3) client: tell systemd the hub is ready and that its event loop is alive.

systemd passes `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace) to a Type=notify
service; we send one datagram per state change. Outside systemd (no variable) every call is a no-op,
so the same code runs on a laptop. `WATCHDOG_USEC` is the watchdog timeout; `WATCHDOG_PID`, when set,
names the process it is meant for (a child process must not pet its parent's watchdog).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Mapping

from hub.core.ticks import sleep_aligned

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages; never raises (a lost notification must not take the hub down)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self._sock: socket.socket | None = None
        self._watchdog_usec = _watchdog_usec(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send `FIELD=value` lines as one datagram; True if it was handed to the socket."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, self.address)
            return True
        except OSError as exc:
            log.warning("sd_notify to %r failed: %s", self.address, exc)
            return False

    def ready(self, status: str | None = None) -> bool:
        fields = ["READY=1"] + ([f"STATUS={status}"] if status else [])
        return self.notify(*fields, f"MAINPID={os.getpid()}")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings: half the timeout, as sd_watchdog_enabled(3) advises;
        None when systemd watches nothing (no WatchdogSec= or not for this process)."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2e6

    async def watchdog_loop(self, interval: float | None = None) -> None:
        """Pet the watchdog while the event loop runs. Because it runs *on* the loop, a blocked loop
        stops the pings and systemd restarts the hub; run it as a named task (ctx.spawn)."""
        period = interval if interval is not None else self.watchdog_interval()
        if period is None or self.address is None:
            return
        while True:
            self.watchdog()
            # On the shared grid (hub.core.ticks): a ping at most one period apart, waking with the hub's
            # other periodic work (the 15 s inactivity tick at the unit's WatchdogSec=30s) instead of alone.
            await sleep_aligned(period)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _address(raw: str) -> str | bytes | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # abstract namespace: a leading NUL instead of '@'
    if raw.startswith("/"):
        return raw
    log.warning("ignoring NOTIFY_SOCKET=%r: neither a path nor @abstract (vsock is not supported)", raw)
    return None


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    return usec if usec > 0 else None
