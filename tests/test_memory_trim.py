"""hub.core.memory.trim gives freed heap back: measured as resident memory, on glibc."""

from __future__ import annotations

import asyncio
import platform

import pytest

from hub.core import memory


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_is_resident_until_trimmed_then_returned() -> None:
    # 60 kB blocks come from malloc's heap (below its 128 kB mmap threshold); one kept block at the
    # top stops the heap from simply shrinking, as live objects do in a running hub.
    blocks = [bytearray(60_000) for _ in range(2000)]
    for block in blocks:
        block[::4096] = b"\x01" * len(block[::4096])  # touch every page: make it resident
    keep = bytearray(60_000)
    del blocks
    before = _rss_kb()
    assert memory.trim()
    after = _rss_kb()
    assert before - after > 50_000, f"RSS {before} kB -> {after} kB"
    assert len(keep) == 60_000


def test_trim_after_trims_even_when_the_work_fails(monkeypatch) -> None:
    trimmed: list[bool] = []
    monkeypatch.setattr(memory, "trim", lambda: trimmed.append(True) or True)

    async def warm() -> None:
        raise OSError("card full while rendering prompts")

    with pytest.raises(OSError):
        asyncio.run(memory.trim_after(warm()))
    asyncio.run(memory.trim_after(None))
    assert trimmed == [True, True]



@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt(M_ARENA_MAX) is glibc's")
def test_glibc_takes_the_one_arena_setting() -> None:
    """hub run asks for one malloc arena before its threads start (hub.core.memory.one_arena): glibc must
    accept it. What it saves is measured on the running hub (../shared/checks footprint: 48.8 -> ~43.5 MB)."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "from hub.core import memory; print(memory.one_arena())"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")
def test_freed_heap_goes_back_as_it_is_freed_once_the_thresholds_are_pinned() -> None:
    """hub run pins glibc's mmap (and trim) threshold (hub.core.memory.steady_thresholds): a large block
    freed after start-up goes back to the system at once. Without the pin, glibc, having freed one 8 MB
    mmapped block, serves every block below 8 MB from its heap, where it stays resident when freed."""
    import subprocess
    import sys
    code = """
from hub.core import memory
import sys
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS:')).split()[1])
if sys.argv[1] == 'pin':
    print(memory.steady_thresholds(), end=' ')
big = bytearray(8_000_000)
del big
blocks = [bytearray(1_000_000) for _ in range(12)]
for b in blocks:
    b[::4096] = b'\\x01' * len(b[::4096])  # every page touched: resident
before = rss()
del blocks
print(before - rss())
"""
    freed = {}
    for mode in ("pin", "default"):
        out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=60,
                             check=True).stdout.split()
        freed[mode] = int(out[-1])
        if mode == "pin":
            assert out[0] == "True"
    assert freed["pin"] > 10_000, freed  # kB: the 12 MB went back at once
    assert freed["default"] < 2_000, freed  # kept resident until a malloc_trim: what the pin is for
