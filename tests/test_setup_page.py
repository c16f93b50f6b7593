"""Set-up mode on a running simulated hub: entered and left, the hotspot through (a fake) nmcli, and the
page's API with the attacker's first tries — a wrong-code flood, no or a forged CSRF token, another origin,
an oversized body, paths off the page — refused, and nothing secret sent back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from setup_page import Page, fake_nmcli, label_of, new_port, setup_extra
from support import ROOT, HubProcess, online_hub, write_config

from hub.provision.bundle import pack_text


@pytest.fixture
def setup_hub(make_hub: Any, subscriber: Any) -> Any:
    port = new_port()
    hub, sub = online_hub(make_hub, subscriber, setup_extra(port))
    return hub, sub, port


def start(hub: HubProcess) -> dict[str, Any]:
    out = hub.cli("setup-mode", "start", "--json")
    assert out.returncode == 0, out.stderr + hub.log_tail()
    return json.loads(out.stdout)


def test_nothing_listens_until_set_up_mode_then_the_code_opens_it(setup_hub: Any) -> None:
    hub, _sub, port = setup_hub
    page = Page(port)
    with pytest.raises(OSError):
        page.call("/api/hello", timeout=2)  # outside set-up mode nothing listens
    state = start(hub)
    assert state["on"] and state["url"] == f"http://127.0.0.1:{port}/"
    assert state["ssid"] is None  # no hotspot configured: no Wi-Fi name the installer would look for in vain
    said = hub.cli("setup-mode", "status").stdout
    assert f"无热点 no hotspot ([setup_mode] hotspot = false): open http://127.0.0.1:{port}/" in said, said
    assert "Wi-Fi" not in said and "label.toml" in said
    assert "setup_mode_on" in [s["key"] for s in hub.spoken()]
    status, hello = page.call("/api/hello")
    label = label_of(hub.config)
    assert status == 200 and hello["serial"] == label["serial"]
    assert label["setup_code"] not in json.dumps(hello) and label["hotspot_password"] not in json.dumps(hello)
    assert page.call("/api/status")[0] == 401
    assert page.login("00000000") == 403
    assert page.login(label["setup_code"]) == 200
    status, body = page.call("/api/status")
    assert status == 200 and body["broker"] == "online" and body["hub_id"] == "test-0001"
    assert hub.cli("setup-mode", "stop").returncode == 0
    with pytest.raises(OSError):
        page.call("/api/hello", timeout=2)
    assert "setup_mode_off" in [s["key"] for s in hub.spoken()]


def test_attackers_first_tries_are_refused(setup_hub: Any) -> None:
    hub, _sub, port = setup_hub
    start(hub)
    code = label_of(hub.config)["setup_code"]
    attacker = Page(port)
    answers = [attacker.login(f"{n:08d}") for n in range(6)]
    assert answers[:5] == [403] * 5 and answers[5] == 429  # five wrong codes lock the address out
    assert attacker.login(code) == 429  # even the right code, until the lock ends (the page says how long)
    # Set-up mode again (a new guard, as after the lock ends): the session rules, on a good login.
    hub.cli("setup-mode", "stop")
    start(hub)
    ok = Page(port)
    assert ok.login(code) == 200
    csrf = ok.csrf
    ok.csrf = ""
    assert ok.call("/api/provision/field", {"path": "hub.id", "value": "x"})[0] == 403  # no CSRF token
    ok.csrf = "forged"
    assert ok.call("/api/provision/field", {"path": "hub.id", "value": "x"})[0] == 403
    ok.csrf = csrf
    assert ok.call("/api/provision/field", {"path": "hub.id", "value": "x"},
                   headers={"Origin": "http://evil.example"})[0] == 403
    assert ok.call("/api/provision", raw=b"{" + b" " * (400 * 1024) + b"}")[0] == 413
    for path in ("/../../etc/passwd", "/page/../label.toml", "/label.toml", "/%2e%2e/%2e%2e/etc/passwd"):
        assert ok.call(path)[0] in (401, 404), path
    assert ok.call("/api/provision/field", {"path": "hub.id", "value": "demo-0001"})[1]["problem"]
    # The wizard's other rules at entry too, not first at "保存配置": a host with its port, a demo password.
    host = ok.call("/api/provision/field", {"path": "broker.host", "value": "mqtt.example.cn:8883"})[1]
    assert "有端口 has a port in it" in host["problem"] and "[mqtt] port = 8883" in host["problem"], host
    assert ok.call("/api/provision/field", {"path": "broker.host", "value": "mqtt.example.cn"})[1]["problem"] == ""
    weak = ok.call("/api/provision/field", {"path": "broker.password", "value": "change-me"})[1]
    assert weak["problem"].startswith("不能使用默认/演示密码"), weak
    # The schema's own refusals in Mandarin first, in words, not a regular expression.
    spaced = ok.call("/api/provision/field", {"path": "broker.host", "value": "mqtt example.cn"})[1]["problem"]
    assert spaced == '只能用字母、数字和 . : - / letters, digits and . : - only, not "mqtt example.cn"', spaced
    port = ok.call("/api/provision/field", {"path": "broker.port", "value": 88830})[1]["problem"]
    assert port.startswith("超出范围 88830 out of range 1..65535"), port
    status, body = ok.call("/api/provision/field", {"path": "no.such.field", "value": 1})
    assert status == 200 and body["problem"] == "unknown field"


def test_bundle_saved_through_the_page_and_secrets_never_echoed(setup_hub: Any, tmp_path: Path) -> None:
    hub, _sub, port = setup_hub
    start(hub)
    page = Page(port)
    assert page.login(label_of(hub.config)["setup_code"]) == 200
    bundle = json.loads((ROOT / "config" / "bundle.example.json").read_text())
    bundle["hub"]["id"] = "home-0042"
    bundle["broker"]["password"] = "Zq8-long-and-random-42"
    bad = json.loads(json.dumps(bundle))
    bad["hardware"]["buttons"][0]["pin"] = 99
    status, body = page.call("/api/provision", {"bundle": bad})
    assert status == 422 and body["field"].startswith("hardware.buttons") and "Zq8" not in json.dumps(body)
    status, body = page.call("/api/provision", {"text": pack_text(bundle)})
    assert status == 200 and body["ok"] and body["hub_id"] == "home-0042", body
    assert "Zq8" not in json.dumps(body)
    written = hub.config.read_text()
    assert 'id = "home-0042"' in written
    assert json.loads((hub.config.parent / "provisioned.json").read_text())["source"] == "setup-page"


def test_a_config_saved_then_left_without_finish_is_run_at_once(setup_hub: Any) -> None:
    """The installer saves the bundle, then leaves set-up mode without "完成安装" (`hub setup-mode stop`, or the
    30 minutes run out): the saved file must not wait on the card for some later power cut to take over
    unannounced, while the hub runs on the old one. It is run now, as Finish would, and the stop says so."""
    hub, _sub, port = setup_hub
    start(hub)
    page = Page(port)
    assert page.login(label_of(hub.config)["setup_code"]) == 200
    bundle = json.loads((ROOT / "config" / "bundle.example.json").read_text())
    bundle["hub"]["id"] = "home-0043"
    status, body = page.call("/api/provision", {"bundle": bundle})
    assert status == 200 and body["ok"], body
    assert hub.alive()  # saving alone restarts nothing: the installer may still pair, test-call, self-test
    stopped = hub.cli("setup-mode", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "已保存的配置现在生效 the configuration saved on the page takes effect now" in stopped.stdout, stopped.stdout
    assert hub.proc is not None and hub.proc.wait(30) == 0, hub.log_tail()  # exit 0: systemd starts it on the new file
    assert "set-up mode left without Finish" in hub.log_tail(), hub.log_tail()


def test_the_hotspot_and_wifi_through_nmcli(make_hub: Any, broker: Any, tmp_path: Path) -> None:
    port = new_port()
    env = fake_nmcli(tmp_path / "bin")
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port, extra=setup_extra(port, hotspot=True))
    hub = HubProcess(cfg, env=env).start()
    try:
        start(hub)
        label = label_of(cfg)
        log = Path(env["NMCLI_LOG"])
        assert log.read_text().splitlines()[0] == (
            f"device wifi hotspot ifname wlan0 con-name eldercare-setup ssid Eldercare-{label['serial']} "
            f"password {label['hotspot_password']}")
        page = Page(port)
        assert page.login(label["setup_code"]) == 200
        status, body = page.call("/api/wifi")
        assert status == 200 and body["networks"] == [
            {"ssid": "HomeNet", "signal": 82, "secured": True}, {"ssid": "Cafe:Guest", "signal": 40, "secured": False}]
        status, body = page.call("/api/wifi", {"ssid": "HomeNet", "password": "correct horse"})
        assert status == 200 and body["state"] == "connected"
        assert "device wifi connect HomeNet ifname wlan0 password correct horse" in log.read_text()
        status, body = page.call("/api/wifi", {"ssid": "BadNet", "password": "wrongpass"})
        assert status == 409 and "Secrets were required" in body["error"]
        assert page.call("/api/wifi", {"ssid": "HomeNet", "password": "short"})[0] == 409
        assert hub.cli("setup-mode", "stop").returncode == 0
        assert log.read_text().splitlines()[-1] == "connection down eldercare-setup"
    finally:
        hub.stop()
