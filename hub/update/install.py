"""Install a verified wheel of this project into its own venv, offline.

The new venv is made with the running interpreter's base Python (`python -m venv --without-pip`); a
`.pth` line puts the base venv's site-packages (`[update] base_venv`, the venv `hub install` made) after
its own, so the dependencies come from there and nothing is fetched: pip installs the wheel alone
(`--no-index --no-deps`), then `pip check` proves every requirement of the new version is met. A
release that needs a new dependency is refused here, before anything switched ("failed", naming it):
such a release goes out with `hub install` from a new image, not as an update.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from hub.update.layout import PROJECT, artifact_name

__all__ = ["PROJECT", "InstallError", "artifact_name", "install", "wheel_version"]


class InstallError(RuntimeError):
    pass


def wheel_version(wheel: Path) -> str:
    """The version in a wheel's own metadata (`*.dist-info/METADATA`); InstallError if it is not a
    wheel of this project."""
    try:
        with zipfile.ZipFile(wheel) as z:
            name = next((n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), "")
            meta = z.read(name).decode("utf-8", "replace") if name else ""
    except (zipfile.BadZipFile, OSError) as exc:
        raise InstallError(f"{wheel.name} is not a wheel ({exc})") from None
    fields = dict(line.split(": ", 1) for line in meta.splitlines()[:20] if ": " in line)
    if fields.get("Name", "").lower().replace("_", "-") != PROJECT:
        raise InstallError(f"{wheel.name} is not a wheel of {PROJECT} (its metadata names {fields.get('Name')!r})")
    return fields.get("Version", "")


def install(wheel: Path, venv: Path, base_venv: Path, timeout: float = 600.0) -> None:
    """Make `venv` and install `wheel` into it; on any failure nothing is left behind."""
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        _run([_base_python(), "-m", "venv", "--without-pip", str(venv)], "making the venv", timeout)
        site = _site_packages(venv)
        base_site = _site_packages(base_venv)
        (site / "eldercare-hub-base.pth").write_text(f"{base_site}\n")
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--python",
               str(venv / "bin" / "python")]
        _run([*pip, "install", "--no-index", "--no-deps", "--no-compile", "--quiet", str(wheel)],
             "pip install", timeout)
        problems = _run([*pip, "check"], "pip check", timeout, check=False)
        mine = [line for line in problems.splitlines() if line.lower().startswith(PROJECT)]
        if mine:
            raise InstallError("dependencies missing offline: " + "; ".join(mine))
        _run([str(venv / "bin" / "python"), "-c", "import hub.cli, hub.core.app"], "importing the new version",
             timeout)
    except BaseException:
        shutil.rmtree(venv.parent, ignore_errors=True)
        raise


def _base_python() -> str:
    base = getattr(sys, "_base_executable", "") or sys.executable
    return base


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        version = sysconfig.get_python_version()
        raise InstallError(f"{venv} has no lib/python{version}/site-packages: not a venv")
    return found[0]


def _run(cmd: list[str], what: str, timeout: float, check: bool = True) -> str:
    try:
        # Without PYTHONPATH: the new venv must import its own `hub`, not the caller's sources.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what}: did not finish in {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallError(f"{what} failed: {' | '.join(tail)}")
    return done.stdout
