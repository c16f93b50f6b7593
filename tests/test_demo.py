"""`bash scripts/demo.sh` as the README's quick start runs it: the hub is kept running the way systemd
keeps it, so a remote configuration that needs a restart ends the hub cleanly and the demo starts it
again — the platform gets `applied_restart` and the demo's console shows the report as a sentence."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support import Subscriber, free_port, mosquitto_binary, wait_until
from updatekit import build_wheel

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")]


def _demo_env(sim: Path, port: int, path_first: Path | None = None) -> dict[str, str]:
    # The demo sets up its venv unless it is stamped as installed: this one is (the tests run from it).
    digest = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    (Path(sys.prefix) / f".installed-{digest}").touch()
    path = f"{os.environ.get('PATH', '')}:/usr/sbin"
    return {**os.environ, "HUB_SIM_DIR": str(sim), "HUB_DEMO_PORT": str(port), "HUB_VENV": sys.prefix,
            "HUB_DEMO_EXIT_AFTER": "200", "PATH": f"{path_first}:{path}" if path_first else path}


def _wait(predicate, timeout: float, what: str, log: Path):
    return wait_until(predicate, timeout, lambda: f"{what}; hub.log ends:\n"
                      + (log.read_text(errors="replace")[-2000:] if log.exists() else "(none)"), 0.1)


class Demo:
    """`bash scripts/demo.sh` in its own session; its output (the console) collected line by line."""

    def __init__(self, tmp: Path, path_first: Path | None = None) -> None:
        self.sim, self.port = tmp / "sim", free_port()
        self.log = self.sim / "hub.log"
        self.proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT,
                                     env=_demo_env(self.sim, self.port, path_first), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout or []), daemon=True)
        self._reader.start()

    def wait_running(self) -> None:
        _wait(lambda: any("watching eldercare/v1/demo-0001" in x for x in self.lines), 90, "the demo's console",
              self.log)
        _wait(lambda: "running" in (self.log.read_text() if self.log.exists() else ""), 60, "the hub running",
              self.log)

    def shown(self, *parts: str) -> bool:
        return any(all(p in x for p in parts) for x in self.lines)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the demo's trap stops its hub and broker
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        assert "Traceback" not in "".join(self.lines)


def test_the_demo_starts_the_hub_again_after_a_restart_type_remote_config(tmp_path: Path):
    demo = Demo(tmp_path)
    sub = None
    try:
        demo.wait_running()
        sub = Subscriber(demo.port, "eldercare/v1/demo-0001/#")
        desired = {"version": 1, "config": {"voice": {"also_english": True}}}  # read at start: a restart
        sub.client.publish("eldercare/v1/demo-0001/config/desired", json.dumps(desired), qos=1, retain=True)
        report = sub.wait_for(lambda m: m[1].endswith("/config/reported") and isinstance(m[2], dict)
                              and m[2].get("version") == 1 and m[2].get("result") == "applied_restart", 120)
        assert report, f"no applied_restart report; hub.log:\n{demo.log.read_text()[-3000:]}"
        text = demo.log.read_text()
        assert "demo: hub exited (0); starting it again in 2 s, as systemd would" in text
        assert text.count("update guard:") >= 2  # the boot guard before each start, as ExecStartPre
        _wait(lambda: demo.shown("config.reported 配置报告 config report", "applied after a restart"), 30,
              "the console's line for the report", demo.log)
        assert 'also_english = true' in (demo.sim / "hub.toml").read_text()
    finally:
        if sub is not None:
            sub.close()
        demo.close()


@pytest.mark.skipif(os.geteuid() == 0 and subprocess.run(["id", "eldercare"], capture_output=True).returncode == 0,
                    reason="as root with the service user present, hub update --from asks for sudo -u eldercare")
def test_a_signed_update_can_be_tried_in_the_demo(tmp_path: Path):
    demo = Demo(tmp_path)
    try:
        demo.wait_running()
        wheel = build_wheel(tmp_path / "build", "99.0.0")
        venv_hub = str(Path(sys.prefix) / "bin" / "hub")
        signed = subprocess.run([venv_hub, "update", "sign", "--key", str(demo.sim / "release-key" / "release-key.pem"),
                                 str(wheel)], capture_output=True, text=True, timeout=60)
        assert signed.returncode == 0, signed.stderr
        update = subprocess.run([venv_hub, "update", "--from", str(wheel), "--config", str(demo.sim / "hub.toml")],
                                capture_output=True, text=True, timeout=600)
        assert update.returncode == 0, update.stdout + update.stderr
        _wait(lambda: demo.shown("system.update 软件升级 software update · 99.0.0 · 新版本正常 healthy"), 180,
              "the new version healthy (restarted by the demo, through releases/current)", demo.log)
        assert os.readlink(demo.sim / "releases" / "current").endswith("versions/99.0.0/venv")
    finally:
        demo.close()


def _hub_pid(config: Path) -> int:
    """The pid of `hub run --simulate --config CONFIG` (this test's own path: no other process has it)."""
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in argv and str(config).encode() in argv and b"--simulate" in argv:
            return int(entry.name)
    raise AssertionError(f"no hub running on {config}")


def _hub_running(config: Path) -> bool:
    try:
        return bool(_hub_pid(config))
    except AssertionError:
        return False


def test_the_demo_does_not_restart_a_hub_that_stopped_on_a_config_mistake(tmp_path: Path):
    demo = Demo(tmp_path)
    try:
        demo.wait_running()
        config = demo.sim / "hub.toml"
        config.write_text(config.read_text().replace("[mqtt]\n", "[mqtt]\nno_such_key = 1\n", 1))
        os.kill(_hub_pid(config), signal.SIGTERM)  # stopped (exit 0): started again, on the broken file
        _wait(lambda: demo.shown("the hub stopped on a config mistake (exit 2"), 60, "the demo's word on exit 2",
              demo.log)
        text = demo.log.read_text()
        assert text.count("starting it again") == 1 and "no_such_key" in text  # the hub's message names the key
    finally:
        demo.close()


def test_the_demo_leaves_alone_a_process_that_is_no_longer_its_broker(tmp_path: Path):
    """The broker's PID, kept since the start, names another program by the clean-up: the demo must not kill
    it. Here the `mosquitto` the demo starts becomes `sleep 1000` at once (same PID, a session of its own, so
    only the demo's own `kill` could reach it), as a PID reused after the broker ended would."""
    fake = tmp_path / "bin"
    fake.mkdir()
    pid_file = tmp_path / "other.pid"
    (fake / "mosquitto").write_text(f'#!/bin/sh\necho $$ >"{pid_file}"\nexec setsid sleep 1000\n')
    (fake / "mosquitto").chmod(0o755)
    demo = Demo(tmp_path, path_first=fake)
    other = None
    try:
        _wait(lambda: pid_file.exists() and pid_file.read_text().strip(), 60, "the demo starting its broker", demo.log)
        other = int(pid_file.read_text())
        _wait(lambda: (Path(f"/proc/{other}/cmdline").read_bytes() == b"sleep\x001000\x00"), 10,
              "the broker's PID running sleep 1000", demo.log)
        # No broker listens, so the console gives up at once and the demo's clean-up runs (its EXIT trap, set
        # before the console starts). The hub it started lives only until then: waiting to see it running
        # raced with that end (a CI run missed it for 60 s), and it is not what this test is about. (The
        # clean-up's last `wait` then waits on the sleep, still the demo's child here: close() ends it.)
        _wait(lambda: demo.shown("no longer the process the demo started"), 90, "the demo's clean-up", demo.log)
        assert any("cannot reach the broker" in x for x in demo.lines), demo.lines[-5:]
        demo.close()
        assert Path(f"/proc/{other}").exists(), "the demo killed a process that was not its broker"
        assert not _hub_running(demo.sim / "hub.toml"), "the demo left its own hub running"
    finally:
        demo.close()
        if other is not None and Path(f"/proc/{other}").exists():
            os.kill(other, signal.SIGKILL)


@pytest.mark.slow
def test_the_demo_has_zigbee_sensors_to_try(tmp_path: Path):
    demo = Demo(tmp_path)
    try:
        demo.wait_running()
        venv_hub = str(Path(sys.prefix) / "bin" / "hub")
        done = subprocess.run([venv_hub, "sim", "zigbee", "gas", "on", "--config", str(demo.sim / "hub.toml")],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        _wait(lambda: demo.shown("alarm.gas 燃气泄漏 gas leak · 厨房 · kitchen_gas"), 60, "the gas alarm", demo.log)
        _wait(lambda: demo.shown("valve.closed 阀门已关闭 valve closed · 厨房 · gas_valve"), 60, "the valve closed",
              demo.log)
        assert any("hub sim zigbee gas on" in x for x in demo.lines)  # the demo says it can be tried
        # Each command it prints runs as printed from the fresh clone, where no `hub` is on the PATH (it said
        # "or a signed update: hub update sign … WHEEL", and not how to make a WHEEL).
        told = "".join(demo.lines).split("Console below")[0]
        bare = [x for x in told.splitlines() if re.search(r"(?<![/\w-])hub (update|sim|status|report|setup) ",
                                                          x.split(" # ")[0])]
        assert bare == [], bare
        assert "pip wheel --no-deps" in told
    finally:
        demo.close()
