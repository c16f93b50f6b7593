"""`hub install --root DIR`: places unit, watchdog drop-in and config; a second run changes nothing;
existing users/groups are recognised; dry-run touches nothing; the installed unit verifies."""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from support import copy_stock_units

from hub.cli import install as install_cli
from hub.config.loader import load
from hub.device.install import GROUPS, USER, Installer

ROOT = Path(__file__).resolve().parent.parent


def run_install(*args: str) -> int:
    parser = argparse.ArgumentParser(prog="hub")
    install_cli.register(parser.add_subparsers())
    parsed = parser.parse_args(["install", "--no-apt", "--source", str(ROOT), *args])
    return int(parsed.func(parsed))


def snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    out: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = (0, str(path.readlink()))
        elif path.is_file():
            out[rel] = (stat.S_IMODE(path.stat().st_mode), path.read_bytes())
    return out


def test_install_into_a_root_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "pi"
    assert run_install("--root", str(root)) == 0
    first = snapshot(root)
    unit = root / "etc/systemd/system/eldercare-hub.service"
    assert unit.read_text() == (ROOT / "systemd/eldercare-hub.service").read_text()
    dropin = (root / "etc/systemd/system.conf.d/eldercare-hub-watchdog.conf").read_text()
    assert "RuntimeWatchdogSec=10s" in dropin and "[Manager]" in dropin
    wants = root / "etc/systemd/system/multi-user.target.wants/eldercare-hub.service"
    assert wants.is_symlink() and str(wants.readlink()) == "/etc/systemd/system/eldercare-hub.service"
    config = root / "etc/eldercare-hub/hub.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    load(config)  # the example config placed before provisioning is itself valid
    assert stat.S_IMODE((root / "etc/eldercare-hub").stat().st_mode) == 0o770
    out = capsys.readouterr().out
    assert "useradd --system" in out and "--groups gpio,i2c,dialout,bluetooth,audio eldercare" in out

    assert run_install("--root", str(root)) == 0
    out = capsys.readouterr().out
    assert snapshot(root) == first
    assert "0 项更改 changed" in out and "→" not in out


def test_existing_user_and_groups_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "pi"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(
        f"root:x:0:0::/root:/bin/sh\n{USER}:x:990:990::/var/lib/eldercare-hub:/usr/sbin/nologin\n"
    )
    (root / "etc/group").write_text("".join(f"{g}:x:{900 + i}:{USER}\n" for i, g in enumerate(GROUPS)))
    outcomes = {o.title.split(":")[0]: o.state for o in Installer(ROOT, root, apt=False).execute()}
    for group in GROUPS:
        assert outcomes[f"group {group}"] == "ok"
    assert outcomes["user in its groups"] == "ok"
    assert outcomes[f"user {USER} (groups {', '.join(GROUPS)})"] == "ok"
    (root / "etc/group").write_text("".join(f"{g}:x:{900 + i}:\n" for i, g in enumerate(GROUPS)))
    outcomes = {o.title.split(":")[0]: o.state for o in Installer(ROOT, root, apt=False).execute()}
    assert outcomes["user in its groups"] == "skipped"  # usermod listed, not run off-system


def test_provisioned_config_is_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "pi"
    assert run_install("--root", str(root), "--bundle", str(ROOT / "config/bundle.example.json")) == 0
    config = root / "etc/eldercare-hub/hub.toml"
    provisioned = config.read_bytes()
    assert load(config).hub_id == "sh-pd-huamu-0042"
    assert (root / "etc/eldercare-hub/provisioned.json").exists()
    assert run_install("--root", str(root)) == 0
    assert config.read_bytes() == provisioned


def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "pi"
    root.mkdir()
    assert run_install("--root", str(root), "--dry-run") == 0
    assert list(root.iterdir()) == []
    assert "? 将执行 would do" in capsys.readouterr().out


def test_live_install_runs_commands_in_order(tmp_path: Path) -> None:
    """On / the command steps run (here through a recorder, with the file steps pointed at a temp root
    by a subclass) in a sensible order: user before venv, unit before enable, restart last."""
    ran: list[list[str]] = []

    class Recorded(Installer):
        def at(self, path: Path) -> Path:
            return tmp_path / path.relative_to("/")

    installer = Recorded(ROOT, Path("/"), apt=False, run=ran.append)
    assert installer.live
    installer._make_config_dir = lambda: (tmp_path / "etc/eldercare-hub").mkdir(  # type: ignore[method-assign]
        parents=True, exist_ok=True, mode=0o750
    )
    installer.execute()
    firsts = [c[0] if c[0] != "sh" else c[2].split()[0] + " " + c[2].split()[1] for c in ran]
    assert (
        firsts.index("useradd")
        < firsts.index("python3")
        < firsts.index(str(Path("/opt/eldercare-hub/venv/bin/pip")))
    )
    assert ["systemctl", "enable", "eldercare-hub.service"] in ran
    assert ran[-1][-1].endswith("systemctl restart eldercare-hub.service")
    assert (tmp_path / "opt/eldercare-hub/installed.stamp").read_text() == installer.source_stamp()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_installed_unit_verifies_in_the_installed_root(tmp_path: Path) -> None:
    root = tmp_path / "pi"
    assert run_install("--root", str(root)) == 0
    hub_bin = root / "opt/eldercare-hub/venv/bin/hub"  # pip is not run off-system: stand in for it
    hub_bin.parent.mkdir(parents=True)
    hub_bin.write_text("#!/bin/sh\n")
    hub_bin.chmod(0o755)
    copy_stock_units(root)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", "eldercare-hub.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
