"""Installer mistakes stop the hub with exit 2 naming file, key and remedy (and `hub config check`
says the same); a failing card does not stop it (degraded storage mode, tests/test_storage_e2e.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from faultfs import bind_mount
from powercut import PowerCutFS, fuse_available

ROOT = Path(__file__).resolve().parent.parent


def hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          stdin=subprocess.DEVNULL)


def config(tmp_path: Path, state: Path, extra: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'[hub]\nid = "t-env"\nstate_dir = "{state}"\n\n[mqtt]\nhost = "127.0.0.1"\nport = 1\n'
                    f"{extra}\n[voice]\nenabled = false\n")
    return path


def both(cfg: Path, env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    return [hub("config", "check", "--config", str(cfg), env=env),
            hub("run", "--simulate", "--config", str(cfg), env=env)]


def test_a_missing_tls_file_is_named_with_its_key_and_remedy(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    cfg = config(tmp_path, tmp_path / "state", f'[mqtt.tls]\nca = "{ca}"\n')
    for out in both(cfg):
        assert out.returncode == 2, out.stderr
        assert f"mqtt.tls.ca = {ca}: file not found" in out.stderr
        assert "hub provision --bundle" in out.stderr and "Traceback" not in out.stderr


def test_a_state_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("oops")
    for out in both(config(tmp_path, state)):
        assert out.returncode == 2, out.stderr
        assert f"hub.state_dir = {state}: exists but is not a directory" in out.stderr


@pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available()))
def test_a_state_dir_the_service_user_cannot_write_exits_2(tmp_path: Path) -> None:
    # Root is never refused by file modes, so the filesystem refuses instead: EACCES on every write,
    # which is what the service user meets in a state dir left owned by root.
    with PowerCutFS(tmp_path / "card") as fs:
        state = fs.path / "state"
        state.mkdir()
        fs.fail("EACCES")
        for out in both(config(tmp_path, state)):
            assert out.returncode == 2, out.stderr
            assert f"hub.state_dir = {state}: not writable by user" in out.stderr
            assert f"chown -R eldercare:eldercare {state}" in out.stderr and "Traceback" not in out.stderr


def test_a_state_dir_outside_the_systemd_state_directory_exits_2(tmp_path: Path) -> None:
    sandbox = tmp_path / "var-lib"
    sandbox.mkdir()
    for out in both(config(tmp_path, tmp_path / "elsewhere"), env={"STATE_DIRECTORY": str(sandbox)}):
        assert out.returncode == 2, out.stderr
        assert f"outside the service's state directory {sandbox}" in out.stderr
        assert f'state_dir = "{sandbox}"' in out.stderr


def test_a_read_only_card_is_reported_by_config_check_but_is_no_installer_mistake(tmp_path: Path) -> None:
    state = tmp_path / "card"
    with bind_mount(state) as mount:
        mount.read_only()
        out = hub("config", "check", "--config", str(config(tmp_path, state)))
    assert out.returncode == 2
    assert "存储故障 storage fault" in out.stderr and "refuses writes" in out.stderr
    assert "still runs and calls" in out.stderr  # `hub run` starts (tests/test_storage_e2e.py)
    # what the running hub says of it too (fault.storage): a read-only card is replaced, not cleaned up
    assert "存储卡只读（可能已损坏）：更换存储卡" in out.stderr and "free space" not in out.stderr, out.stderr


@pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available()))
def test_a_full_card_is_told_to_be_cleared_not_replaced(tmp_path: Path) -> None:
    """The technician's remedy fits the fault: the same words as the running hub's fault.storage."""
    with PowerCutFS(tmp_path / "card") as fs:
        state = fs.path / "state"
        state.mkdir()
        fs.fail("ENOSPC")
        out = hub("config", "check", "--config", str(config(tmp_path, state)))
    assert out.returncode == 2, out.stderr
    assert "存储卡已满：删除 state_dir 中的旧文件或更换存储卡" in out.stderr, out.stderr


def test_a_good_config_checks_ok_without_creating_the_state_dir(tmp_path: Path) -> None:
    out = hub("config", "check", "--config", str(config(tmp_path, tmp_path / "new" / "state")))
    assert out.returncode == 0, out.stderr
    assert "OK" in out.stdout and not (tmp_path / "new").exists()


def test_a_state_dir_under_proc_cannot_be_created_and_says_so(tmp_path: Path) -> None:
    """/proc accepts nothing, yet os.access says root may write there: `config check` used to pass it."""
    cfg = config(tmp_path, Path("/proc/nope"))
    for out in both(cfg):
        assert out.returncode == 2, out.stderr
        assert "hub.state_dir = /proc/nope: 不存在，也无法创建 missing, and cannot be created" in out.stderr
        assert "virtual proc filesystem" in out.stderr and f"set [hub] state_dir in {cfg}" in out.stderr
        assert "Traceback" not in out.stderr


def test_a_state_dir_name_too_long_is_named_not_a_traceback(tmp_path: Path) -> None:
    """A pasted path with one component past NAME_MAX: os.stat raised ENAMETOOLONG out of the check."""
    long = tmp_path / ("a" * 300) / "state"
    cfg = config(tmp_path, long)
    for out in both(cfg):
        assert out.returncode == 2, out.stderr
        assert f"hub.state_dir = {long}: cannot be looked at (File name too long)" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_a_missing_state_dir_on_a_read_only_filesystem_is_an_installer_mistake(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    with bind_mount(ro) as mount:
        mount.read_only()
        cfg = config(tmp_path, ro / "state")
        for out in both(cfg):
            assert out.returncode == 2, out.stderr
            assert f"hub.state_dir = {ro / 'state'}: 不存在，也无法创建 missing, and cannot be created" in out.stderr
            assert f"{ro} 在只读文件系统上 is on a read-only filesystem" in out.stderr, out.stderr
        assert not list(ro.iterdir())  # nothing made there by the check


def test_config_check_leaves_no_probe_behind(tmp_path: Path) -> None:
    out = hub("config", "check", "--config", str(config(tmp_path, tmp_path / "new" / "state")))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.toml"]  # the probe directory is gone too
