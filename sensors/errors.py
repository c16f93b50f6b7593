"""The one error the home sensors raise: what failed, how (a supervision kind) and where."""

from __future__ import annotations

import errno

from drivers.ads1115 import Ads1115Error
from drivers.bme280 import Bme280Error
from drivers.sht3x import Sht3xDataError

# Kinds match hub.home.supervision's remedies.
KINDS = (
    "no_response",
    "crc",
    "short_read",
    "stuck",
    "impossible",
    "timeout",
    "wrong_chip",
    "trouble",
    "error",
)


class SensorError(Exception):
    def __init__(self, kind: str, part: str, detail: str) -> None:
        self.kind, self.part, self.detail = kind, part, detail
        super().__init__(f"{part}: {kind}: {detail}")


_DRIVER_KINDS = {
    "crc": "crc",
    "short": "short_read",
    "timeout": "timeout",
    "chip_id": "wrong_chip",
    "skipped": "error",
}


def classify(exc: BaseException, part: str) -> SensorError:
    """Map what a driver raised to a SensorError; anything unexpected is kind 'error', never re-raised."""
    if isinstance(exc, SensorError):
        return exc
    if isinstance(exc, Sht3xDataError | Ads1115Error | Bme280Error):
        return SensorError(_DRIVER_KINDS.get(exc.kind, "error"), part, str(exc))
    if isinstance(exc, OSError):
        kind = (
            "no_response"
            if exc.errno
            in (errno.EREMOTEIO, errno.ENXIO, errno.ENODEV, errno.ENOENT, errno.EIO, errno.ETIMEDOUT, None)
            else "error"
        )
        return SensorError(kind, part, f"{exc.strerror or exc} (errno {exc.errno})")
    return SensorError("error", part, f"{type(exc).__name__}: {exc}")
