"""`bash scripts/demo.sh` as the README's quick start runs it: the hub is kept running the way systemd
keeps it, so a remote configuration that needs a restart ends the hub cleanly and the demo starts it
again — the platform gets `applied_restart` and the demo's console shows the report as a sentence."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import Subscriber, free_port, mosquitto_binary

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")]


def _demo_env(sim: Path, port: int) -> dict[str, str]:
    # The demo sets up its venv unless it is stamped as installed: this one is (the tests run from it).
    digest = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    (Path(sys.prefix) / f".installed-{digest}").touch()
    return {**os.environ, "HUB_SIM_DIR": str(sim), "HUB_DEMO_PORT": str(port), "HUB_VENV": sys.prefix,
            "HUB_DEMO_EXIT_AFTER": "200", "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin"}


def _wait(predicate, timeout: float, what: str, log: Path):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout:g} s; hub.log ends:\n"
                         + (log.read_text(errors="replace")[-2000:] if log.exists() else "(none)"))


def test_the_demo_starts_the_hub_again_after_a_restart_type_remote_config(tmp_path: Path):
    sim, port = tmp_path / "sim", free_port()
    demo = subprocess.Popen(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, env=_demo_env(sim, port),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout or []), daemon=True)
    reader.start()
    log = sim / "hub.log"
    sub = None
    try:
        _wait(lambda: any("watching eldercare/v1/demo-0001" in x for x in lines), 90, "the demo's console", log)
        _wait(lambda: "running" in (log.read_text() if log.exists() else ""), 60, "the hub running", log)
        sub = Subscriber(port, "eldercare/v1/demo-0001/#")
        desired = {"version": 1, "config": {"voice": {"also_english": True}}}  # read at start: a restart
        sub.client.publish("eldercare/v1/demo-0001/config/desired", json.dumps(desired), qos=1, retain=True)
        report = sub.wait_for(lambda m: m[1].endswith("/config/reported") and isinstance(m[2], dict)
                              and m[2].get("version") == 1 and m[2].get("result") == "applied_restart", 120)
        assert report, f"no applied_restart report; hub.log:\n{log.read_text()[-3000:]}"
        text = log.read_text()
        assert "demo: hub exited (0); starting it again in 2 s, as systemd would" in text
        assert text.count("update guard:") >= 2  # the boot guard before each start, as ExecStartPre
        _wait(lambda: any("config.reported 配置报告 config report" in x and "applied after a restart" in x
                          for x in lines), 30, "the console's line for the report", log)
        assert 'also_english = true' in (sim / "hub.toml").read_text()
    finally:
        if sub is not None:
            sub.close()
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGTERM)  # the demo's trap stops its hub and broker
            try:
                demo.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait(10)
        reader.join(5)
        if demo.stdout is not None:
            demo.stdout.close()
    assert "Traceback" not in "".join(lines)
