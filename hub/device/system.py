"""The system `hub install` installs into, seen under its root (`/` on a Pi, a temp dir in tests): what is
already there (groups, users, Debian packages) and the file work of the install steps. Writes are atomic
(hub.core.files), so a power cut during an install leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
from pathlib import Path


def lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def group_members(etc_group: Path) -> dict[str, set[str]]:
    """Group name -> its members, as /etc/group under the root lists them."""
    groups: dict[str, set[str]] = {}
    for line in lines(etc_group):
        parts = line.split(":")
        if len(parts) >= 4:
            groups[parts[0]] = {m for m in parts[3].split(",") if m}
    return groups


def has_user(etc_passwd: Path, user: str) -> bool:
    return any(line.split(":", 1)[0] == user for line in lines(etc_passwd))


def apt_missing(packages: tuple[str, ...], live: bool) -> list[str]:
    """The packages dpkg does not list as installed; all of them off a live system (nothing to ask)."""
    if not live or shutil.which("dpkg-query") is None:
        return list(packages)
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


def gid(group: str) -> int | None:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def run_checked(argv: list[str]) -> None:
    subprocess.run(argv, check=True)


def write(path: Path, content: bytes, mode: int, service_owned: bool = False) -> None:
    from hub.core.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, content, mode, service_owned=service_owned)


def symlink(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    os.symlink(target, link)


def make_releases(releases: Path, user: str) -> None:
    """The update root, owned by the service user (it installs signed versions there); `current`
    starts as a relative link to the venv this install made, so the same link works under --root."""
    releases.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = releases / ".current.new"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink("../venv", tmp)
    os.replace(tmp, releases / "current")
    try:
        import pwd

        owner = pwd.getpwnam(user)
    except KeyError:
        return
    if os.geteuid() == 0:
        os.chown(releases, owner.pw_uid, owner.pw_gid)
        os.lchown(releases / "current", owner.pw_uid, owner.pw_gid)
