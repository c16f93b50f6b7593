"""A power-cut filesystem for tests: FUSE (mfusepy + libfuse3) over an in-memory tree that remembers,
for every file, its content as of its last fsync, and for every directory, its entries as of its last
fsync. `cut()` throws away everything else — every write, create, rename and unlink not yet made
durable — which is what a power cut does to an SD card (strict POSIX: a new or renamed name survives
only once its directory is fsynced; ext4 is kinder, so this is the harder test). It can also refuse
writes like a full (ENOSPC) or failing read-only (EROFS) card, for degraded-mode tests.

Use (root, /dev/fuse):

    with PowerCutFS(tmp_path / "card") as fs:   # mounted, empty; fs.sync() makes the tree durable
        ... run a process that writes under fs.path ...
        kill it (SIGKILL), then fs.cut()          # the card as it would be after the power came back
        fs.fail("ENOSPC"); fs.heal()              # a full card, and space freed again

Run as a script it is the FUSE server: `python tests/powercut.py MOUNTPOINT CONTROL_SOCKET`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MUTATING_OPEN = os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND | os.O_CREAT


class Node:
    def __init__(self, mode: int) -> None:
        self.mode = mode
        self.data = bytearray()
        self.durable = b""  # file content at the last fsync
        self.entries: dict[str, Node] = {}  # directories: the current names
        self.durable_entries: dict[str, Node] = {}  # directories: the names at the last fsync
        self.mtime = time.time()

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def _serve() -> None:
    import mfusepy
    from powercut_links import LinkOps

    class CutFS(LinkOps, mfusepy.Operations):  # type: ignore[misc]
        use_ns = True

        def __init__(self) -> None:
            self.mutex = threading.RLock()
            self.root = Node(stat.S_IFDIR | 0o755)
            self.handles: dict[int, Node] = {}
            self.next_fh = 1
            self.failing = 0  # errno that every write gets, 0 = none
            self.cuts = 0

        # --- the model ---------------------------------------------------------------------------
        def _lookup(self, path: str) -> Node:
            node = self.root
            for part in [p for p in path.split("/") if p]:
                if not node.is_dir or part not in node.entries:
                    raise mfusepy.FuseOSError(errno.ENOENT)
                node = node.entries[part]
            return node

        def _parent(self, path: str) -> tuple[Node, str]:
            head, _, name = path.rstrip("/").rpartition("/")
            parent = self._lookup(head or "/")
            if not parent.is_dir:
                raise mfusepy.FuseOSError(errno.ENOTDIR)
            return parent, name

        def _node(self, path: str | None, fh: int | None) -> Node:
            if fh and fh in self.handles:
                return self.handles[fh]
            if path is None:
                raise mfusepy.FuseOSError(errno.EBADF)
            return self._lookup(path)

        def _writable(self) -> None:
            if self.failing:
                raise mfusepy.FuseOSError(self.failing)

        def sync_all(self) -> None:
            def walk(node: Node) -> None:
                node.durable = bytes(node.data)
                node.durable_entries = dict(node.entries)
                for child in node.entries.values():
                    walk(child)
            with self.mutex:
                walk(self.root)

        def cut(self) -> None:
            def walk(node: Node) -> None:
                node.data = bytearray(node.durable)
                node.entries = dict(node.durable_entries)
                for child in node.entries.values():
                    walk(child)
            with self.mutex:
                walk(self.root)
                self.handles.clear()  # what was open died with the power
                self.cuts += 1

        # --- FUSE operations ------------------------------------------------------------------
        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            with self.mutex:
                node = self._node(path, fh)
                ns = int(node.mtime * 1e9)
                return {"st_mode": node.mode, "st_nlink": 2 if node.is_dir else 1,
                        "st_size": len(node.data), "st_uid": os.getuid(), "st_gid": os.getgid(),
                        "st_mtime": ns, "st_ctime": ns, "st_atime": ns, "st_blksize": 4096,
                        "st_blocks": (len(node.data) + 511) // 512}

        def readdir(self, path: str, fh: int) -> list[str]:
            with self.mutex:
                return [".", "..", *self._lookup(path).entries]

        def statfs(self, path: str) -> dict[str, int]:
            return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 1 << 18, "f_bfree": 1 << 17,
                    "f_bavail": 1 << 17, "f_files": 1 << 16, "f_ffree": 1 << 15, "f_namemax": 255}

        def access(self, path: str, amode: int) -> int:
            with self.mutex:
                self._lookup(path)
                if amode & os.W_OK and self.failing == errno.EROFS:
                    raise mfusepy.FuseOSError(errno.EROFS)
                return 0

        def mkdir(self, path: str, mode: int) -> int:
            with self.mutex:
                self._writable()
                parent, name = self._parent(path)
                if name in parent.entries:
                    raise mfusepy.FuseOSError(errno.EEXIST)
                parent.entries[name] = Node(stat.S_IFDIR | (mode & 0o7777))
                return 0

        def rmdir(self, path: str) -> int:
            with self.mutex:
                self._writable()
                parent, name = self._parent(path)
                node = self._lookup(path)
                if node.entries:
                    raise mfusepy.FuseOSError(errno.ENOTEMPTY)
                del parent.entries[name]
                return 0

        def _open_node(self, node: Node) -> int:
            fh = self.next_fh
            self.next_fh += 1
            self.handles[fh] = node
            return fh

        def create(self, path: str, mode: int, fi: Any = None) -> int:
            with self.mutex:
                self._writable()
                parent, name = self._parent(path)
                kind = stat.S_IFMT(mode) or stat.S_IFREG
                node = parent.entries.get(name) or Node(kind | (mode & 0o7777))
                parent.entries[name] = node
                return self._open_node(node)

        def mknod(self, path: str, mode: int, dev: int) -> int:
            with self.mutex:
                self._writable()
                parent, name = self._parent(path)
                parent.entries[name] = Node(mode)
                return 0

        def open(self, path: str, flags: int) -> int:
            with self.mutex:
                if flags & MUTATING_OPEN and self.failing == errno.EROFS:
                    raise mfusepy.FuseOSError(errno.EROFS)
                node = self._lookup(path)
                if flags & os.O_TRUNC:
                    self._writable()
                    node.data.clear()
                return self._open_node(node)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            with self.mutex:
                return bytes(self._node(path, fh).data[offset:offset + size])

        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            with self.mutex:
                if fh not in self.handles:
                    return len(data)  # a page written back after the cut: the power is gone
                self._writable()
                node = self.handles[fh]
                if offset > len(node.data):
                    node.data.extend(b"\0" * (offset - len(node.data)))
                node.data[offset:offset + len(data)] = data
                node.mtime = time.time()
                return len(data)

        def truncate(self, path: str, length: int, fh: int | None = None) -> int:
            with self.mutex:
                self._writable()
                node = self._node(path, fh)
                del node.data[length:]
                node.data.extend(b"\0" * (length - len(node.data)))
                return 0

        def fallocate(self, path: str, mode: int, offset: int, size: int, fh: int) -> int:
            with self.mutex:
                self._writable()
                node = self._node(path, fh)
                if offset + size > len(node.data) and not mode & 1:  # FALLOC_FL_KEEP_SIZE
                    node.data.extend(b"\0" * (offset + size - len(node.data)))
                return 0

        def fsync(self, path: str, datasync: int, fh: int) -> int:
            with self.mutex:
                if fh not in self.handles:
                    return 0
                self._writable()
                node = self.handles[fh]
                node.durable = bytes(node.data)
                return 0

        def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
            with self.mutex:
                self._writable()
                node = self._lookup(path)
                node.durable_entries = dict(node.entries)
                return 0

        def flush(self, path: str, fh: int) -> int:
            return 0

        def release(self, path: str, fh: int) -> int:
            with self.mutex:
                self.handles.pop(fh, None)
                return 0

        def opendir(self, path: str) -> int:
            with self.mutex:
                self._lookup(path)
                return 0

        def releasedir(self, path: str, fh: int) -> int:
            return 0

        def unlink(self, path: str) -> int:
            with self.mutex:
                self._writable()
                parent, name = self._parent(path)
                if name not in parent.entries:
                    raise mfusepy.FuseOSError(errno.ENOENT)
                del parent.entries[name]
                return 0

        def rename(self, old: str, new: str) -> int:
            with self.mutex:
                self._writable()
                src, a = self._parent(old)
                dst, b = self._parent(new)
                if a not in src.entries:
                    raise mfusepy.FuseOSError(errno.ENOENT)
                dst.entries[b] = src.entries.pop(a)
                return 0

        def chmod(self, path: str, mode: int) -> int:
            with self.mutex:
                self._writable()
                node = self._lookup(path)
                node.mode = stat.S_IFMT(node.mode) | (mode & 0o7777)
                return 0

        def chown(self, path: str, uid: int, gid: int) -> int:
            return 0

        def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
            with self.mutex:
                self._lookup(path).mtime = (times[1] / 1e9) if times else time.time()
                return 0

    mountpoint, control = sys.argv[1], sys.argv[2]
    fs = CutFS()

    def control_loop(server: socket.socket) -> None:
        while True:
            conn, _ = server.accept()
            with conn, conn.makefile("rw") as f:
                for line in f:
                    cmd = line.split()
                    if cmd[0] == "sync":
                        fs.sync_all()
                    elif cmd[0] == "cut":
                        fs.cut()
                    elif cmd[0] == "fail":
                        fs.failing = getattr(errno, cmd[1])
                    elif cmd[0] == "heal":
                        fs.failing = 0
                    f.write(json.dumps({"ok": True, "cuts": fs.cuts}) + "\n")
                    f.flush()

    server = socket.socket(socket.AF_UNIX)
    server.bind(control)
    server.listen(4)
    threading.Thread(target=control_loop, args=(server,), daemon=True).start()
    # No caching in the kernel: after a cut, every lookup and read must see the cut tree.
    mfusepy.FUSE(fs, mountpoint, foreground=True, attr_timeout=0, entry_timeout=0, negative_timeout=0,
                 hard_remove=True, fsname="powercut")


def fuse_available() -> str | None:
    """Why a FUSE filesystem cannot be mounted here, or None if it can."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if os.geteuid() != 0:
        return "FUSE tests mount as root"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"mfusepy/libfuse3 missing ({exc}): pip install mfusepy, apt-get install fuse3"
    return None


class PowerCutFS:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.control = path.parent / f".{path.name}.powercut.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PowerCutFS:
        self.path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.control.unlink()
        self.log = open(self.path.parent / f"{self.path.name}.powercut.log", "ab")
        self.proc = subprocess.Popen([sys.executable, __file__, str(self.path), str(self.control)],
                                     stdout=self.log, stderr=self.log)
        end = time.monotonic() + 15
        while not (os.path.ismount(self.path) and self.control.exists()):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.__exit__()
                raise RuntimeError("the power-cut filesystem did not mount: "
                                   + (self.path.parent / f"{self.path.name}.powercut.log").read_text()[-800:])
            time.sleep(0.02)
        return self

    def _send(self, command: str) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(self.control))
            s.sendall((command + "\n").encode())
            reply: dict[str, Any] = json.loads(s.makefile().readline())
        return reply

    def sync(self) -> None:
        """Everything written so far is durable (the card as the installer left it)."""
        self._send("sync")

    def cut(self) -> None:
        """Power cut: keep only what was fsynced. Kill every process writing here first."""
        self._send("cut")

    def fail(self, error: str) -> None:
        """Refuse every write with errno `error` ("ENOSPC", "EROFS", "EIO") until heal()."""
        self._send(f"fail {error}")

    def heal(self) -> None:
        self._send("heal")

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True, timeout=20)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@contextlib.contextmanager
def powercut_fs(path: Path) -> Iterator[PowerCutFS]:
    with PowerCutFS(path) as fs:
        yield fs


if __name__ == "__main__":
    _serve()
