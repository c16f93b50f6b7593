"""Log lines that stay small and few whatever arrives: text from outside (an event id in `cmd/ack`, a
payload) is clipped to LIMIT characters with its length, and a cause that repeats is logged once per
WINDOW_S, the next line saying how many were left out. 10,000 bogus acks of 60 KB each must not become
600 MB of journal on the SD card."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

LIMIT = 200
WINDOW_S = 60.0
MAX_CAUSES = 256  # causes remembered; the oldest is forgotten first


def clip(value: Any, limit: int = LIMIT) -> str:
    """`value` as text of at most about `limit` characters: longer text keeps its head and says its length."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


class PerCause:
    """One line per cause per window. The cause is chosen by the caller and must not come from outside
    (an attacker's id as the cause would make every line a new cause)."""

    def __init__(self, logger: logging.Logger, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[str, list[float]] = {}  # cause -> [time of its last line, lines left out since]

    def log(self, level: int, cause: str, message: str, *args: Any) -> bool:
        """Log `message % args` (string arguments clipped) unless `cause` was logged within the window;
        True if it was logged."""
        now = self.clock()
        seen = self._seen.get(cause)
        if seen is not None and now - seen[0] < self.window_s:
            seen[1] += 1
            return False
        left_out = int(seen[1]) if seen is not None else 0
        self._seen.pop(cause, None)
        self._seen[cause] = [now, 0]
        if len(self._seen) > MAX_CAUSES:
            del self._seen[next(iter(self._seen))]
        clipped = tuple(clip(a) if isinstance(a, str) else a for a in args)
        if left_out:
            message += " (and %d more like it in the last %.0f s, not logged)"
            clipped += (left_out, self.window_s)
        self.logger.log(level, message, *clipped)
        return True

    def warning(self, cause: str, message: str, *args: Any) -> bool:
        return self.log(logging.WARNING, cause, message, *args)

    def info(self, cause: str, message: str, *args: Any) -> bool:
        return self.log(logging.INFO, cause, message, *args)
