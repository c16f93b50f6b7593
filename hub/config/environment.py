"""What a valid config names must exist on this machine: the TLS files and a state dir the hub can use.

Two kinds of problem, told apart on purpose (docs/reliability.md, "Installer mistakes and failed cards"):

- **installer mistakes** (`fatal`): a TLS file missing or unreadable; the state dir missing and not
  creatable, not a directory, not ours (permission denied), or outside the service's StateDirectory.
  Nothing a restart can fix: `hub run` exits 2 naming the file, the key and the remedy, and systemd
  does not restart it (RestartPreventExitStatus=2) — no silent crash loop.
- **a failing card** (not fatal): the state dir exists and is ours, but refuses writes — full,
  read-only (the kernel remounts a failing SD card read-only), I/O errors. The hub starts anyway in
  degraded storage mode (hub.core.store): a hub that can reach the broker must still call.

`hub config check` reports both kinds (exit 2), so the installer fixes them before leaving the home. It
also reports what the running hub refuses and works around (`degraded`): an `[voice] espeak_voice` this
espeak-ng cannot read Mandarin with (the hub speaks with another voice, and logs it) and a bad `[ble]
extra_profiles` file (the hub uses the built-in profiles), a `[voice] pack` that is not a readable voice
pack (the hub speaks with espeak-ng) — the hub still starts, for calls.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub.config.loader import Config
from hub.core.outbox_file import storage_failure
from hub.core.storage_fault import REMEDIES

CARD_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}
# Kernel filesystems that are no place for data: a state dir there can never be made ("/proc/nope").
VIRTUAL_FS = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
              "configfs", "efivarfs", "pstore", "bpf", "mqueue", "hugetlbfs", "fusectl", "binfmt_misc"}


@dataclass(frozen=True)
class Problem:
    file: str  # the file the problem is about (the config file, or the file it names)
    key: str
    problem: str
    remedy: str
    fatal: bool = True
    label: str = ""  # overrides the kind shown for a non-fatal problem

    def __str__(self) -> str:
        kind = "配置错误 config error" if self.fatal else self.label or "存储故障 storage fault"
        return f"{kind}: {self.key} = {self.file}: {self.problem}. 处理 remedy: {self.remedy}"


def check_environment(config: Config, *, create: bool = True) -> list[Problem]:
    """Problems with what `config` names. `create`: make a missing state dir (`hub run`); without it
    (`hub config check`) a missing one is only checked to be creatable."""
    if create:  # `hub run`: the voice and the profiles are checked (and worked around) by their users
        return [*_tls_files(config), *_state_dir(config, create)]
    return [*_tls_files(config), *_state_dir(config, create), *_voice(config), *_pack(config), *_profiles(config)]


def voice_problem(voice: str) -> str:
    """Why this espeak-ng cannot read Mandarin with `voice` ("" when it can, or for "auto"): the wizard
    asks with it, `hub config check` refuses with it, the running hub falls back to another voice."""
    from voice.phonemes import AUTO, check_voice, short_version
    from voice.tts import espeak_version

    if voice == AUTO:
        return ""
    verdict = check_voice(voice)
    if verdict.ok:
        return ""
    return (f"espeak-ng {short_version(espeak_version())} 不能用 {voice!r} 读普通话 cannot read Mandarin with "
            f"{voice!r} ({verdict.reason}); 用 use \"auto\" (the hub picks a voice that can)")


def _voice(config: Config) -> list[Problem]:
    problem = voice_problem(config["voice"]["espeak_voice"])
    if not problem:
        return []
    return [Problem(str(config.path), "voice.espeak_voice", problem,
                    f"set [voice] espeak_voice = \"auto\" in {config.path} (the hub would speak with another "
                    "voice and log this at every start)", fatal=False, label="配置错误 config error")]


def _pack(config: Config) -> list[Problem]:
    """A configured voice pack the hub would not use (it would speak every prompt with espeak-ng)."""
    folder = config["voice"]["pack"]
    if not folder:
        return []
    from voice import packs

    remedy = (f"point [voice] pack in {config.path} at a voice pack folder (docs/voice.md), or import one with "
              "`hub voice import` and set pack = \"\"")
    if not (Path(folder) / packs.MANIFEST).exists():
        return [Problem(folder, "voice.pack", f"no {packs.MANIFEST} there: not a voice pack", remedy, fatal=False,
                        label="配置错误 config error")]
    try:
        packs.load(Path(folder))
    except (packs.PackError, OSError) as exc:
        return [Problem(folder, "voice.pack", str(exc), remedy, fatal=False, label="配置错误 config error")]
    return []


def _profiles(config: Config) -> list[Problem]:
    extra = config["ble"]["extra_profiles"]
    if not extra:
        return []
    from sensors.meters.profiles import ProfileError, table

    try:
        table(Path(extra))
    except ProfileError as exc:
        return [Problem(extra, "ble.extra_profiles", str(exc),
                        "fix the file (format: sensors/meters/profiles.toml); the hub would use only the "
                        "built-in profiles", fatal=False, label="配置错误 config error")]
    return []


def _tls_files(config: Config) -> list[Problem]:
    tls = config["mqtt"].get("tls") or {}
    problems = []
    for key in ("ca", "cert", "key"):
        name = tls.get(key)
        if not name:
            continue
        try:
            with open(name, "rb") as handle:
                handle.read(1)
        except FileNotFoundError:
            problems.append(Problem(name, f"mqtt.tls.{key}", "file not found",
                                    f"copy the file there (it comes with the platform's provisioning bundle: "
                                    f"`hub provision --bundle`) or correct [mqtt.tls] {key} in {config.path}"))
        except IsADirectoryError:
            problems.append(Problem(name, f"mqtt.tls.{key}", "is a directory, not a PEM file",
                                    f"point [mqtt.tls] {key} in {config.path} at the PEM file"))
        except PermissionError:
            problems.append(Problem(name, f"mqtt.tls.{key}", f"not readable by user {_user()}",
                                    f"chgrp eldercare {name} && chmod 640 {name}"))
        except OSError as exc:
            problems.append(Problem(name, f"mqtt.tls.{key}", f"cannot read: {exc.strerror}",
                                    f"check the file and the card; correct [mqtt.tls] {key} in {config.path}"))
    return problems


def _state_dir(config: Config, create: bool) -> list[Problem]:
    state = config.state_dir
    key, where = "hub.state_dir", str(state)
    sandbox = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if sandbox and not _within(state, Path(sandbox)):
        # Under systemd's ProtectSystem=strict only the StateDirectory is writable: anything else
        # would look like a read-only card for ever.
        return [Problem(where, key, f"outside the service's state directory {sandbox} "
                                    "(systemd makes everything else read-only)",
                        f"set [hub] state_dir = \"{sandbox}\" in {config.path}")]
    try:
        exists = state.exists()
    except OSError as exc:  # exists() raises for all but "not there": a name too long, a parent unreadable
        return [Problem(where, key, f"cannot be looked at ({exc.strerror})",
                        f"set [hub] state_dir in {config.path} to a short path on a writable disk "
                        "(the default is /var/lib/eldercare-hub)")]
    if not create and not exists:
        # Tried, not asked: os.access says yes to root everywhere, /proc included, and knows nothing of a
        # filesystem that refuses new entries. The probe directory goes at once; the state dir is not made.
        parent = next(p for p in state.parents if p.exists())
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".state-dir-check.", dir=parent))
        except OSError as exc:
            return [_cannot_create(config, parent, exc)]
        return []  # `hub run` (or systemd's StateDirectory=) will create it
    try:
        state.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return [Problem(where, key, "exists but is not a directory",
                        f"move the file away or set another [hub] state_dir in {config.path}")]
    except OSError as exc:
        return [_cannot_create(config, next((p for p in state.parents if p.exists()), state.parent), exc)]
    if not state.is_dir():
        return [Problem(where, key, "exists but is not a directory",
                        f"move the file away or set another [hub] state_dir in {config.path}")]
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=state)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        if exc.errno in CARD_ERRNOS:  # the running hub's own words for it (fault.storage): full or failing
            remedy = REMEDIES[storage_failure(exc) or "io_error"]
            return [Problem(where, key, f"the SD card refuses writes ({exc.strerror})",
                            f"{remedy}; the hub still runs and calls, from memory, meanwhile (degraded "
                            "storage mode)", fatal=False)]
        return [Problem(where, key, f"not writable by user {_user()} ({exc.strerror})",
                        f"chown -R eldercare:eldercare {state} (or run `hub install`)")]
    return []


def _cannot_create(config: Config, parent: Path, exc: OSError) -> Problem:
    """The missing state dir cannot be made in `parent` (its nearest existing ancestor): why, in the
    installer's terms, and what to do — another place when this one can never hold it."""
    state, kind = config.state_dir, _fs_type(parent)
    elsewhere = (f"把 [hub] state_dir 改为可写磁盘上的目录 set [hub] state_dir in {config.path} to a directory on a "
                 "writable disk (the default is /var/lib/eldercare-hub; `hub install` creates it)")
    if kind in VIRTUAL_FS:
        why, remedy = f"{parent} 是内核的虚拟文件系统 is the kernel's virtual {kind} filesystem, not a disk", elsewhere
    elif exc.errno == errno.EROFS:
        why, remedy = f"{parent} 在只读文件系统上 is on a read-only filesystem", elsewhere
    else:
        why = (f"{parent} is not writable by user {_user()}" if exc.errno in (errno.EACCES, errno.EPERM)
               else f"{parent}: {exc.strerror}")
        remedy = (f"为服务用户建好目录 create it for the service user (`hub install` does: install -d -o eldercare "
                  f"{state}), or correct [hub] state_dir in {config.path}")
    return Problem(str(state), "hub.state_dir", f"不存在，也无法创建 missing, and cannot be created: {why}", remedy)


def _fs_type(path: Path) -> str:
    """The filesystem type of the mount holding `path` (/proc/self/mounts), "" if unknown."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return ""
    target, best = str(path.resolve()), ("", "")
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best[0]):
            best = (mount, fields[2])
    return best[1]


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):
        return str(os.geteuid())
