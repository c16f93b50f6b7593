"""The update root on disk, and every change to it made so that a power cut leaves a state the boot
guard (hub.update.guard) can finish or undo.

    {root}/versions/{version}/venv    one venv per installed version (its own site-packages)
    {root}/current  -> a venv         the unit starts `{root}/current/bin/hub run`
    {root}/previous -> a venv         what `current` was before the last switch
    {root}/update.json                the marker: the update in progress and its outcome
    {root}/pending.json               an update before its switch (downloading … waiting): a start that
                                      finds it reports that update `interrupted`
    {root}/downloads/                 partial downloads (resumed with HTTP Range)

A link is switched by making the new link under a temporary name and renaming it over the old one
(atomic), then fsyncing the directory. The marker is written with atomic_write before `current` moves,
so after any crash the marker says what was intended and the links say how far it got.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.core.files import atomic_write
from hub.update.versions import compare

TRIAL, HEALTHY, ROLLED_BACK, FAILED = "trial", "healthy", "rolled_back", "failed"
PROJECT = "eldercare-hub"


def artifact_name(version: str) -> str:
    """The file name pip needs for a pure-Python wheel of this project."""
    return f"{PROJECT.replace('-', '_')}-{version}-py3-none-any.whl"


def download_name(version: str, sha256: str) -> str:
    """Where a release is downloaded: named by its digest too, so a partial file is only ever resumed
    with the bytes of the same signed artifact."""
    return f"{artifact_name(version)}.{sha256[:16]}"


@dataclass
class Marker:
    state: str  # trial: the new version is on probation; else an outcome still to report
    version: str  # the version being tried
    from_version: str  # the version that installed it
    new: str  # venv path `current` points at during the trial
    old: str  # venv path to go back to
    deadline: float  # wall-clock time by which it must be healthy (the boot guard's check)
    timeout_s: float
    starts: int = 0  # starts of the new version so far (counted by the boot guard)
    max_starts: int = 3
    reason: str = ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode()


class Releases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current = root / "current"
        self.previous = root / "previous"
        self.marker_path = root / "update.json"
        self.downloads = root / "downloads"
        self.pending_path = root / "pending.json"

    def venv(self, version: str) -> Path:
        return self.versions / version / "venv"

    def target(self, link: Path) -> str | None:
        try:
            return os.readlink(link)
        except (FileNotFoundError, OSError):
            return None

    def switch(self, link: Path, target: str) -> None:
        """Point `link` at `target` atomically (temp link + rename + fsync of the directory)."""
        tmp = link.with_name(f".{link.name}.new")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.replace(tmp, link)
        fsync_dir(link.parent)

    # --- the marker -------------------------------------------------------------------------------
    def marker(self) -> Marker | None:
        try:
            data = json.loads(self.marker_path.read_text())
            return Marker(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            # atomic_write never leaves a torn file; this is a hand edit. Say so and go on without it.
            raise ValueError(f"{self.marker_path}: unreadable update marker ({exc}); remove it") from exc

    def write_marker(self, marker: Marker) -> None:
        atomic_write(self.marker_path, marker.to_json(), mode=0o644)

    def clear_marker(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.marker_path)
            fsync_dir(self.root)

    # --- an update before its switch -------------------------------------------------------------
    def pending(self) -> dict[str, Any] | None:
        """{version, stage, since} of an update a start interrupted, None if none (or unreadable)."""
        try:
            data = json.loads(self.pending_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("version"), str) else None

    def write_pending(self, version: str, stage: str) -> None:
        body = {"version": version, "stage": stage, "since": round(time.time(), 3)}
        atomic_write(self.pending_path, json.dumps(body).encode(), mode=0o644)

    def clear_pending(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pending_path)
            fsync_dir(self.root)

    def tidy(self, running: str) -> list[str]:
        """At start: remove what an interrupted update left on the card (nothing is in progress now).
        Versions under versions/ that no link nor the marker names (a half install: kill -9 or a power
        cut in `installing`, or installed and never switched); in downloads/, finished artifacts,
        temporary files and every partial download except the newest one of a version newer than
        `running` (a repeated cmd/update resumes it); the marker's own temporary files."""
        import shutil

        removed: list[str] = []
        marker = None
        with contextlib.suppress(ValueError):
            marker = self.marker()
        named = [self.target(self.current), self.target(self.previous), *((marker.new, marker.old) if marker else ())]
        keep = {(self.root / t).resolve() for t in named if t}
        if self.versions.is_dir():
            for entry in sorted(self.versions.iterdir()):
                if (entry / "venv").resolve() not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(f"versions/{entry.name}")
        if self.downloads.is_dir():
            entries = sorted(self.downloads.iterdir(), key=_mtime, reverse=True)
            resumable = next((e for e in entries if e.is_file() and _newer_part(e.name, running)), None)
            for entry in entries:
                if entry != resumable:
                    (shutil.rmtree if entry.is_dir() and not entry.is_symlink() else _unlink)(entry)
                    removed.append(f"downloads/{entry.name}")
        for tmp in self.root.glob(".*.tmp"):
            _unlink(tmp)
            removed.append(tmp.name)
        return removed

    # --- the switch and the way back ------------------------------------------------------------
    def begin_trial(self, version: str, from_version: str, timeout_s: float, max_starts: int) -> Marker:
        """previous := current; marker (trial); current := the new version. Nothing is lost at any cut:
        before the marker nothing changed, after it the boot guard knows what to finish or undo."""
        old = self.target(self.current)
        if old is None:
            raise FileNotFoundError(f"{self.current} is not a link: the update root is not set up (hub install)")
        new = str(self.venv(version))
        self.switch(self.previous, old)
        marker = Marker(TRIAL, version, from_version, new, old, time.time() + timeout_s, timeout_s,
                        max_starts=max_starts)
        self.write_marker(marker)
        self.switch(self.current, new)
        return marker

    def roll_back(self, marker: Marker, reason: str) -> Marker:
        """Marker first (rolled_back, with the reason), then `current` back to the old venv: a cut in
        between is finished by the boot guard."""
        marker.state, marker.reason = ROLLED_BACK, reason
        self.write_marker(marker)
        self.switch(self.current, marker.old)
        return marker

    def settle(self, marker: Marker, state: str, reason: str = "") -> None:
        marker.state, marker.reason = state, reason
        self.write_marker(marker)

    def prune(self) -> list[str]:
        """Remove versions that are neither current nor previous (the SD card is small)."""
        import shutil

        keep = {(self.root / t).resolve() for t in (self.target(self.current), self.target(self.previous)) if t}
        removed = []
        if self.versions.is_dir():
            for entry in sorted(self.versions.iterdir()):
                if (entry / "venv").resolve() not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _newer_part(name: str, running: str) -> bool:
    """`eldercare_hub-{version}-py3-none-any.whl.{digest}.part` of a version newer than `running`."""
    prefix = PROJECT.replace("-", "_") + "-"
    if not (name.startswith(prefix) and name.endswith(".part")):
        return False
    version = name[len(prefix):].split("-", 1)[0]
    try:
        return compare(version, running) > 0
    except ValueError:
        return False


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def venv_version(venv: str | Path) -> str:
    """The eldercare-hub version installed in a venv (its dist-info name), '' if none is found."""
    for site in Path(venv).glob("lib/python3*/site-packages"):
        for info in site.glob("eldercare_hub-*.dist-info"):
            return info.name[len("eldercare_hub-"):-len(".dist-info")]
    return ""


def describe(root: Path) -> dict[str, Any]:
    r = Releases(root)
    return {"current": r.target(r.current), "previous": r.target(r.previous)}
