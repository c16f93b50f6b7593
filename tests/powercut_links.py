"""Symbolic links for the power-cut filesystem (tests/powercut.py), which the update's `current` and
`previous` links need. A link's text is written with its creation, so a link survives a cut exactly
when its name does: once its directory is fsynced."""

from __future__ import annotations

import errno
import stat
from typing import Any


class LinkOps:
    mutex: Any
    root: Any

    def symlink(self, target: str, source: str) -> int:
        """`ln -s source target`."""
        import mfusepy

        with self.mutex:
            self._writable()  # type: ignore[attr-defined]
            parent, name = self._parent(target)  # type: ignore[attr-defined]
            if name in parent.entries:
                raise mfusepy.FuseOSError(errno.EEXIST)
            node = type(self.root)(stat.S_IFLNK | 0o777)
            node.data = bytearray(source.encode())
            node.durable = bytes(node.data)
            parent.entries[name] = node
            return 0

    def readlink(self, path: str) -> str:
        import mfusepy

        with self.mutex:
            node = self._lookup(path)  # type: ignore[attr-defined]
            if not stat.S_ISLNK(node.mode):
                raise mfusepy.FuseOSError(errno.EINVAL)
            return str(node.data.decode())
