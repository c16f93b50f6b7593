"""First boot: a unit prepared by `hub install` (it has its label) and no config yet serves only the set-up
page; once the installer saves a config and finishes, `hub run` exits 0 so that systemd starts the hub with
it. Without a label a missing config stays the plain error it always was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from setup_page import Page, new_port
from support import ROOT, wait_until

from hub.provision.bundle import pack_text
from hub.provision.web.label import create


def test_first_boot_serves_the_page_until_a_config_is_saved(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "hub.toml"
    label = create(tmp_path / "etc" / "label.toml")
    port = new_port()
    env = {**os.environ, "HUB_SETUP_HOTSPOT": "0", "HUB_SETUP_ADDRESS": "127.0.0.1", "HUB_SETUP_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "hub", "run", "--config", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        page = Page(port)

        def hello() -> dict[str, object] | None:
            try:
                return page.call("/api/hello", timeout=2)[1]
            except OSError:
                return None

        seen = wait_until(hello, 30, "the set-up page on first boot")
        assert seen["first_boot"] is True and seen["serial"] == label.serial
        assert page.login(label.setup_code) == 200
        status, body = page.call("/api/devices")
        assert status == 409 and "provision" in body["error"]
        status, body = page.call("/api/done", {})
        assert status == 409  # nothing saved yet: not finished
        bundle = json.loads((ROOT / "config" / "bundle.example.json").read_text())
        bundle["hub"]["id"] = "home-0007"
        status, body = page.call("/api/provision", {"text": pack_text(bundle)})
        assert status == 200 and body["ok"], body
        assert page.call("/api/done", {})[0] == 200
        assert proc.wait(30) == 0
        assert 'id = "home-0007"' in config.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_without_a_label_a_missing_config_is_still_an_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "hub", "run", "--config", str(tmp_path / "hub.toml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not found" in done.stderr
    assert not (tmp_path / "label.toml").exists()  # a developer's typo does not make a label
