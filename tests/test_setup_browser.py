"""The set-up page in a real browser (Debian's Chromium, driven by Playwright, at a phone's size) against a
running simulated hub and a real broker: provisioning from the QR link with a wrong field corrected and
nothing else lost, a BLE meter paired through the virtual radio and its reading shown, a test call the
platform acknowledges, the guided self-test, the summary. Screenshots of each step: SETUP_SCREENSHOTS=DIR
(docs/images holds the ones docs/install.md shows)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from setup_page import label_of, new_port, setup_extra
from support import PREFIX, ROOT, online_hub, wait_until

from hub.provision.bundle import pack_text

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)), None)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.slow
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("chromium is not installed: scripts/_setup.sh installs it for the tests")
    pytest.skip("no chromium here (apt install chromium)", allow_module_level=True)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives it a fresh empty profile and runs it headless; never a downloaded browser.
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Shots:
    def __init__(self, page: Any, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0
        self.keep = os.environ.get("SETUP_SCREENSHOTS")

    def take(self, name: str, element: str | None = None) -> Path:
        self.n += 1
        path = self.folder / f"setup-{self.n}-{name}.png"
        target = self.page.locator(element) if element else self.page
        target.screenshot(path=str(path))
        assert path.stat().st_size > 5000
        if self.keep:
            shutil.copy(path, Path(self.keep) / path.name)
        return path


def test_an_installer_sets_up_the_unit_from_a_phone(make_hub: Any, subscriber: Any, broker: Any, browser: Any,
                                                     tmp_path: Path) -> None:
    port = new_port()
    hub, sub = online_hub(make_hub, subscriber, setup_extra(port))
    assert hub.cli("setup-mode", "start").returncode == 0, hub.log_tail()
    label = label_of(hub.config)
    bundle = json.loads((ROOT / "config" / "bundle.example.json").read_text())
    bundle["broker"].update(host="127.0.0.1", port=broker.port)
    bundle["broker"].pop("tls", None)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    shots = Shots(page, tmp_path)
    page.goto(f"http://127.0.0.1:{port}/#{pack_text(bundle)}")  # what the phone's camera opens from the QR

    # The code from the label; the unit's serial shown to match it.
    page.wait_for_function("document.getElementById('serial').textContent.length > 3")
    assert page.locator("#serial").inner_text() == label["serial"]
    shots.take("code")
    page.fill("#code", "12345678")
    page.click("#login-go")
    page.wait_for_selector("#login-msg:has-text('设置码不对')")
    page.fill("#code", label["setup_code"])
    page.click("#login-go")
    page.wait_for_selector("#fields input[name='hub.id']")
    assert page.input_value("input[name='broker.host']") == "127.0.0.1"
    assert page.input_value("input[name='broker.password']") == bundle["broker"]["password"]  # from the QR only
    assert page.get_attribute("input[name='broker.password']", "type") == "password"
    shots.take("bundle", "#provision")

    # A wrong field: said at once, in the wizard's words; corrected; nothing else lost.
    page.fill("input[name='hub.id']", "demo-0001")
    page.press("input[name='hub.id']", "Tab")
    problem = page.locator("input[name='hub.id'] + em")
    problem.wait_for()
    wait_until(lambda: problem.inner_text() != "", 10, "the problem shown")
    assert "demo" in problem.inner_text().lower()
    page.fill("input[name='broker.port']", "70000")
    page.press("input[name='broker.port']", "Tab")
    wait_until(lambda: page.locator("input[name='broker.port'] + em").inner_text() != "", 10, "port problem")
    shots.take("wrong-field", "#provision")
    page.fill("input[name='hub.id']", "home-0042")
    page.press("input[name='hub.id']", "Tab")
    page.fill("input[name='broker.port']", str(broker.port))
    page.press("input[name='broker.port']", "Tab")
    wait_until(lambda: problem.inner_text() == "", 10, "the problem cleared")
    assert page.input_value("input[name='broker.host']") == "127.0.0.1"
    assert page.input_value("input[name='hub.resident_ref']") == bundle["hub"]["resident_ref"]
    page.click("#provision-go")
    page.wait_for_selector("#provision-msg.ok")
    assert "home-0042" in page.inner_text("#provision-msg")
    assert 'id = "home-0042"' in hub.config.read_text()

    # A new BLE meter on the hub's virtual radio, in pairing mode: found, paired, and its next reading shown.
    new = hub.sim("ble-new")["meter"]
    page.click("#devices-scan")
    wait_until(lambda: page.inner_text("#devices-msg") not in ("", "搜索中（约 5 秒）…"), 30, "the scan")
    assert page.locator("#device-list button").count() > 0, page.inner_text("#devices-msg")
    page.locator(f"#device-list button:has-text('{new}')").click()
    page.wait_for_selector("#devices-msg.ok")
    hub.sim("bp", "135", "85", "--pulse", "70", "--meter", new)
    page.wait_for_selector("#reading:not(.hidden)", timeout=30_000)
    assert "135/85" in page.inner_text("#reading")
    shots.take("meter", "#devices")

    # The test call: the button pressed, the platform's acknowledgement shown (and spoken).
    page.click("#call-go")
    page.wait_for_selector("#call-msg:has-text('请现在按')")
    hub.sim("press", "--button", "17")
    raised = sub.wait_event("call.raised", 15)
    assert raised, hub.log_tail()
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": raised["id"], "by": "王芳"}))
    page.wait_for_selector("#call-msg.ok", timeout=30_000)
    assert "王芳" in page.inner_text("#call-msg")
    wait_until(lambda: any("王芳" in s.get("text", "") for s in hub.spoken()), 15, "the acknowledgement spoken")
    shots.take("test-call", "#testcall")

    # The self-test: the table with remedies, then a guided step done by pressing the button it names.
    page.click("#selftest-go")
    page.wait_for_selector("#selftest-table:not(.hidden)", timeout=60_000)
    assert page.locator("#selftest-table tr").count() >= 3
    step = page.locator("#guided button.step").first
    step.click()
    page.wait_for_selector("#guided button.step:has-text('等待中')")
    wait_until(lambda: hub.sim("press", "--button", "17") and "✔" in step.inner_text(), 30, "the step passed")
    shots.take("selftest", "#selftest")

    # Done: the summary; the provisioning record goes to the platform.
    page.click("#done-go")
    page.wait_for_selector("#summary:not(.hidden)")
    assert label["serial"] in page.inner_text("#summary")
    assert label["setup_code"] not in page.content() and label["hotspot_password"] not in page.content()
    shots.take("done", "#done")
    assert sub.wait_event("system.provisioned", 30), hub.log_tail()
    context.close()
