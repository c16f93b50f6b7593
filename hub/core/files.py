"""Files that must survive a power cut: written to a temporary file, fsynced, renamed over the old one,
and the directory fsynced, so a reader finds the old content or the new, never a torn or empty file."""

from __future__ import annotations

import contextlib
import os
import pwd
import tempfile
from pathlib import Path

SERVICE_USER = "eldercare"


def atomic_write(path: Path, content: bytes, mode: int = 0o600, service_owned: bool = True) -> None:
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        if service_owned:
            _chown_to_service_user(fd)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _chown_to_service_user(fd: int) -> None:
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return  # not installed yet (a laptop, or provisioning before `hub install`): root keeps it
    os.fchown(fd, user.pw_uid, user.pw_gid)


def scratch_dir(name: str) -> Path:
    """A directory off the SD card for what can be made again (rendered prompts) when the card fails:
    systemd's RuntimeDirectory, else /dev/shm, else the temp dir."""
    base = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    root = Path(base) if base else Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    path = root / f"eldercare-hub-{os.getuid()}" / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
