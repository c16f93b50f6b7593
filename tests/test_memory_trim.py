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
