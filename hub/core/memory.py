"""Give freed heap back to the system once start-up churn is over.

Start-up (imports, config checks, rendering the prompt catalogue) frees megabytes that glibc's malloc
keeps in its arenas; on a 512 MB Pi running for months that is resident memory for nothing.
`malloc_trim(0)` returns it. Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


def trim() -> bool:
    """True if the C library had a malloc_trim to call."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim(0)
    return True


async def trim_after(work: Awaitable[Any] | None) -> None:
    """Await `work` (the prompt catalogue's rendering), then trim, whatever became of the work."""
    try:
        if work is not None:
            await work
    finally:
        if trim():
            log.debug("returned freed start-up memory to the system (malloc_trim)")
