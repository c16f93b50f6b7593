"""Figures that take a minute to compute (tests/test_fall_pins.py streams ~700 recordings through the fall
detector and refits its weights ~170 times), computed once per version of the code and the data and shared
by every pytest worker and later runs: the result is stored under the pytest temp root, keyed by a hash of
the sources that produce it and of the data files' names, sizes and modification times. Any change to those
sources or to the data changes the key, so a changed detector is measured again and its pins can fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def source_key(sources: Iterable[Path], data: Path | None) -> str:
    """A hash of every .py file under `sources` (or the file itself: its path and its bytes), of each data
    file under `data` (its relative name, size and modification time, not its bytes: GBs), and of the
    Python and numpy versions (a float summed in another order is another figure)."""
    h = hashlib.sha256(f"{sys.version_info[:3]} numpy {np.__version__}\n".encode())
    for src in sources:
        files = sorted(src.rglob("*.py")) if src.is_dir() else [src]
        for f in files:
            h.update(f"{f.relative_to(src.parent) if src.is_dir() else f.name}\n".encode())
            h.update(f.read_bytes())
    if data is not None and data.is_dir():
        for f in sorted(p for p in data.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f.relative_to(data)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pytest temp root shared by this run's workers (`.../pytest-of-<user>`, kept across runs) or,
    under `--basetemp`, this run's base folder."""
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's, for every worker
    root = run.parent if run.name.startswith("pytest-") and run.parent.name.startswith("pytest-of-") else run
    return root


def cached(root: Path, name: str, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()`'d once per `key`: the first worker to get here computes it under a lock, the others (and
    later runs with the same key) read what it stored. Only this suite writes these files (pickles in the
    user's own pytest temp root, `cache_dir`)."""
    path = root / f"{name}-{key[:24]}.pickle"  # a few kB; other versions' stay (another branch may want them)
    with open(path.with_suffix(".lock"), "w") as lock:  # one lock per version: others are not held up
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            with path.open("rb") as f:
                return pickle.load(f)
        value = compute()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as f:
            pickle.dump(value, f)
        partial.replace(path)  # whole or absent, even if this run is killed
        return value
