"""Release versions, ordered: the anti-rollback check compares the offered version with the installed one.

A release version is PEP 440's common subset: `N(.N)*`, then optionally a pre-release `aN`/`bN`/`rcN`,
`.postN`, `.devN` (e.g. 0.2.0, 0.3.0rc1, 0.2.0.post1). Ordered as pip orders them, on the stdlib alone
(the boot guard and `hub/update/layout.py` must not need `packaging`): 0.2.0.dev1 < 0.2.0a1 < 0.2.0rc1 <
0.2.0 < 0.2.0.post1 < 0.2.1; trailing zeros do not count (0.2 == 0.2.0).
"""

from __future__ import annotations

import re

VERSION_RE = re.compile(r"^(\d{1,9}(?:\.\d{1,9}){0,5})(?:(a|b|rc)(\d{1,9}))?(?:\.post(\d{1,9}))?(?:\.dev(\d{1,9}))?$")
_PRE = {"a": 0, "b": 1, "rc": 2}
Key = tuple[tuple[int, ...], tuple[int, int], int, tuple[int, int]]


def version_key(version: str) -> Key:
    """A sort key; ValueError if `version` is not a release version of the form above."""
    m = VERSION_RE.match(version)
    if m is None:
        raise ValueError(f"{version[:40]!r} is not a release version (e.g. 0.2.0, 0.3.0rc1)")
    release = tuple(int(p) for p in m.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre_kind, pre_n, post, dev = m.group(2), m.group(3), m.group(4), m.group(5)
    # No pre-release sorts after every pre-release; a bare .devN (no pre, no post) sorts before them all.
    if pre_kind:
        pre = (_PRE[pre_kind], int(pre_n))
    elif dev is not None and post is None:
        pre = (-1, 0)
    else:
        pre = (3, 0)
    return release, pre, int(post) if post is not None else -1, (0, int(dev)) if dev is not None else (1, 0)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, the same as or newer than `b`."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def is_version(text: str) -> bool:
    return VERSION_RE.match(text) is not None
