"""Import a library without the optional heavy extras it would pull in if they happen to be installed."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from types import ModuleType


def import_without_optional(name: str, blocked: Iterable[str]) -> ModuleType:
    """Import `name` while `blocked` modules look absent (a None entry in sys.modules makes
    `import x` raise ImportError, which libraries with optional extras catch). Modules already
    imported are left alone, and the block is lifted afterwards so later code may import them."""
    if name in sys.modules:
        return sys.modules[name]
    added = [b for b in blocked if b not in sys.modules]
    for b in added:
        sys.modules[b] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(name)
    finally:
        for b in added:
            if sys.modules.get(b) is None:
                del sys.modules[b]
