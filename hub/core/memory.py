"""Give freed heap back to the system once start-up churn is over.

Start-up (imports, config checks, rendering the prompt catalogue) frees megabytes that glibc's malloc
keeps in its arenas; on a 512 MB Pi running for months that is resident memory for nothing.
`malloc_trim(0)` returns it. Elsewhere than glibc (musl, macOS) this does nothing.

glibc also gives each thread that allocates its own arena (up to 8 per core): the worker threads that
render the prompt catalogue and write the outbox each keep megabytes that trim cannot fully return.
The hub has a handful of threads and no allocation-heavy contention between them, so one arena
(`one_arena()`, before any thread starts) saves ~4.7 MB resident (48.2 -> 43.5 MB, `hub run --simulate`
with the prompt catalogue prerendered), the same as MALLOC_ARENA_MAX=1.

And glibc raises its mmap threshold (and trim threshold) whenever the program frees a large mmapped
block, up to 32 MB: from then on such blocks come from the heap, where they stay resident once freed
until the next `malloc_trim`. Pinning both at their initial 128 KiB (`steady_thresholds()`) keeps large
blocks mmapped, unmapped when freed: ~1.1-1.3 MB resident 40 s after start with the default config
(38.8-39.0 -> 37.7-37.8 MB, `hub run --simulate`, voice on; no change with the voice off), the same as
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_; the cost, an mmap per block of 128 KiB or more, is
nothing for an idle hub.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
THRESHOLD = 128 * 1024  # glibc's initial trim and mmap thresholds, before it adjusts them


@functools.cache
def _libc() -> Any:
    """The C library's symbols as the process already has them: dlopen(NULL), not
    ctypes.util.find_library, which runs `ldconfig -p` in a child process (~14 ms, before READY)."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def one_arena() -> bool:
    """Every thread allocates from the main arena (call before threads start). True if glibc took it."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, 1) == 1)


def steady_thresholds() -> bool:
    """Large blocks stay mmapped, so they go back to the system when freed (see above). True if glibc
    took both settings."""
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt is not None and mallopt(M_TRIM_THRESHOLD, THRESHOLD) == 1
                and mallopt(M_MMAP_THRESHOLD, THRESHOLD) == 1)


def trim() -> bool:
    """True if the C library had a malloc_trim to call."""
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is None:
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
