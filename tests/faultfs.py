"""Storage faults as fixtures: a full disk (a small tmpfs), a read-only state dir (a read-only bind
mount, switched at will), for tests of the hub's degraded storage mode. Needs root and mount(8): skips
otherwise. The power-cut filesystem is tests/powercut.py.

    with tmpfs(path, "2m"): ...                 # path is a 2 MB filesystem
    fill(path)                                  # ... with no free space left (returns the filler file)
    with bind_mount(state) as m: m.read_only(); ...; m.read_write()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True, timeout=20)


def _umount(path: Path) -> None:
    # Lazy: a hub killed a moment ago may still be closing its files there.
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=20)


def require_mount() -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("storage fault fixtures need root and mount(8)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    require_mount()
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(path)


def fill(path: Path) -> Path:
    """Fill the filesystem holding `path` until a write fails with ENOSPC; returns the filler file."""
    filler = path / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 1):  # down to the last bytes: not even a small append fits
            block = b"\0" * size
            with contextlib.suppress(OSError):
                while os.write(fd, block) == size:
                    pass
    finally:
        os.close(fd)
    return filler


class BindMount:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read_only(self) -> None:
        _mount("-o", "remount,bind,ro", str(self.path))

    def read_write(self) -> None:
        _mount("-o", "remount,bind,rw", str(self.path))


@contextlib.contextmanager
def bind_mount(path: Path) -> Iterator[BindMount]:
    """`path` bind-mounted on itself, so it can be made read-only (as a failing SD card is remounted
    by the kernel) and writable again, without touching anything else."""
    require_mount()
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("--bind", str(path), str(path))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot bind-mount here: {exc.stderr.strip()}")
    try:
        yield BindMount(path)
    finally:
        _umount(path)
