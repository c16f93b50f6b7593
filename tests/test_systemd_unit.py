"""The shipped systemd unit: `systemd-analyze verify` clean, hardening exposure <= 3.0, the contract
directives present (Type=notify, watchdog, restart, dedicated user and groups)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import copy_stock_units

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "eldercare-hub.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze not installed (apt-get install systemd)"
)


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def _fake_root(tmp_path: Path) -> Path:
    """A root with the unit installed, its ExecStart binary present and the stock units to resolve
    the targets it orders against, so verify checks this unit and nothing of the host's state."""
    root = tmp_path / "root"
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    shutil.copy(UNIT, unit_dir / UNIT.name)
    exec_start = _directives()["ExecStart"][0].split()[0]
    binary = root / exec_start.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    copy_stock_units(root)
    return root


def test_unit_has_the_contract_directives() -> None:
    d = _directives()
    assert d["Type"] == ["notify"]
    assert d["Restart"] == ["always"]
    assert d["RestartPreventExitStatus"] == ["2"]  # an installer mistake must not crash-loop
    assert d["StateDirectory"] == ["eldercare-hub"]
    assert d["User"] == ["eldercare"]
    assert set(d["SupplementaryGroups"][0].split()) == {"gpio", "i2c", "dialout", "bluetooth", "audio"}
    watchdog = re.fullmatch(r"(\d+)s?", d["WatchdogSec"][0])
    assert watchdog and 5 <= int(watchdog.group(1)) <= 120
    for key, value in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("DevicePolicy", "closed"),
    ]:
        assert d[key] == [value], key
    families = set(d["RestrictAddressFamilies"][0].split())
    assert families == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_BLUETOOTH"}
    # /proc/meminfo and /proc/uptime feed device health: ProcSubset=pid would hide them.
    assert "ProcSubset" not in d


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    result = subprocess.run(
        [str(ANALYZE), "verify", "--man=no", f"--root={root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.strip() == "", result.stderr + result.stdout


@needs_analyze
def test_security_exposure_at_most_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout + result.stderr)
    if match is None and "offline" in result.stderr:
        pytest.skip(f"this systemd-analyze has no offline security scan: {result.stderr.strip()[:120]}")
    assert match, result.stdout[-500:] + result.stderr[-500:]
    assert float(match.group(1)) <= 3.0, match.group(0)
