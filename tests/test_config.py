"""Config is validated at the edge: a bad file stops the hub with exit code 2 naming file, key and value."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support import HubProcess, write_config

from hub.config.loader import ConfigError, load, resolve_path, validate
from hub.config.render import render

ROOT = Path(__file__).resolve().parent.parent


def test_checked_in_defaults_and_example_match_the_schema():
    assert (ROOT / "config" / "default.toml").read_text() == render(documented=False), \
        "regenerate: hub config defaults > config/default.toml"
    assert (ROOT / "config" / "hub.example.toml").read_text() == render(documented=True), \
        "regenerate: hub config example > config/hub.example.toml"


def test_defaults_and_example_are_valid_configs():
    for name in ("default.toml", "hub.example.toml"):
        validate(tomllib.loads((ROOT / "config" / name).read_text()), name)


def test_minimal_config_gets_every_default():
    cfg = validate({"hub": {"id": "x-1"}})
    assert cfg["mqtt"]["topic_prefix"] == "eldercare/v1"
    assert cfg["mqtt"]["port"] == 1883
    assert cfg["buttons"] == [{"pin": 17, "kind": "emergency", "led_pin": None, "bounce_ms": 30}]
    assert cfg["calls"]["guard_s"] == 10.0 and cfg["calls"]["ack_timeout_s"] == 60.0


@pytest.mark.parametrize("raw,key,words", [
    ({"hub": {"idd": "x"}}, "hub.idd", "unknown key (是不是 did you mean 'id'?)"),
    ({"hubb": {}}, "hubb", "unknown section (是不是 did you mean 'hub'?)"),
    ({"mqtt": {"prot": 1883}}, "mqtt.prot", "did you mean 'port'?"),
    ({"mqtt": {"port": "1883"}}, "mqtt.port", "'1883'"),
    ({"mqtt": {"port": 70000}}, "mqtt.port", "out of range"),
    ({"mqtt": {"port": True}}, "mqtt.port", "True"),
    ({"mqtt": {"keepalive_s": 1.5}}, "mqtt.keepalive_s", "an integer"),
    ({"buttons": [{"pin": 17, "kind": "fire"}]}, "buttons[0].kind", "'emergency'"),
    ({"buttons": [{"pin": 17}, {"pin": 17, "kind": "health"}]}, "buttons[1].pin", "already used"),
    # A button on the status LED's default pin: named from the key the installer wrote, with the remedy.
    ({"buttons": [{"pin": 5}]}, "buttons[0].pin", "GPIO5 是状态灯的引脚 / GPIO5 is the status LED's pin (its default), "
     "[outputs] status_led_pin: 请换一个 pick another pin, or move the status LED"),
    ({"buttons": [{"pin": 17}], "outputs": {"buzzer_pin": 17}}, "buttons[0].pin", "GPIO17 is the buzzer's pin, "),
    ({"buttons": {"pin": 17}}, "buttons", "[[buttons]]"),
    ({"mqtt": {"username": "u"}}, "mqtt.password", "together"),
    ({"mqtt": {"tls": {"cert": "/c.pem"}}}, "mqtt.tls.key", "key"),
    ({"mqtt": {"tls": {"capath": "/x"}}}, "mqtt.tls.capath", "unknown key"),
    ({"hub": {"id": ""}}, "hub.id", "length"),
    ({"hub": {"id": "demo/0001"}}, "hub.id", "'/'"),  # publishes under another hub's tree
    ({"hub": {"id": "hub+1"}}, "hub.id", "'+'"),  # its own cmd/# subscription is refused by the broker
    ({"hub": {"id": "hub-1 "}}, "hub.id", "MQTT topic level"),
    ({"mqtt": {"topic_prefix": "eldercare/#"}}, "mqtt.topic_prefix", "wildcard"),
    ({"mqtt": {"topic_prefix": "eldercare//v1"}}, "mqtt.topic_prefix", "empty level"),
    ({"calls": {"guard_s": -1}}, "calls.guard_s", "out of range"),
])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(raw, key, words):
    with pytest.raises(ConfigError) as err:
        validate(raw, "/etc/eldercare-hub/hub.toml")
    assert err.value.key == key
    assert words in str(err.value)
    assert "/etc/eldercare-hub/hub.toml" in str(err.value)


def test_secret_values_are_not_echoed():
    with pytest.raises(ConfigError) as err:
        validate({"mqtt": {"username": "u", "password": 12345}})
    assert "12345" not in str(err.value) and "hidden" in str(err.value)


def test_hub_run_exits_2_on_a_bad_config(tmp_path):
    cfg = tmp_path / "hub.toml"
    cfg.write_text('[hub]\nid = "x"\n[mqtt]\nport = "eighteen"\n')
    out = subprocess.run([sys.executable, "-m", "hub", "run", "--simulate", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "mqtt.port" in out.stderr and "'eighteen'" in out.stderr and str(cfg) in out.stderr


def test_syntax_errors_and_missing_files_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[hub\nid=")
    for path in (bad, tmp_path / "missing.toml"):
        out = subprocess.run([sys.executable, "-m", "hub", "config", "check", "--config", str(path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out.stderr
        assert str(path) in out.stderr
    assert "文件不存在 not found：检查 --config 路径" in out.stderr  # the missing one: what to check, in Chinese too


def test_config_check_takes_the_file_as_installers_type_it(tmp_path):
    """`hub config check hub.toml` said "hub: error: unrecognized arguments: hub.toml" under the usage of
    every verb; the file is now the same as --config FILE."""
    good, bad = tmp_path / "hub.toml", tmp_path / "typo.toml"
    good.write_text(f'[hub]\nid = "sq-0042"\nstate_dir = "{tmp_path}"\n')
    bad.write_text(f'[hub]\nid = "sq-0042"\nstate_dir = "{tmp_path}"\n[mqtt]\nprot = 8883\n')

    def check(*args):
        return subprocess.run([sys.executable, "-m", "hub", "config", "check", *args],
                              capture_output=True, text=True, timeout=60)

    ok = check(str(good))
    assert ok.returncode == 0 and f"{good}: OK" in ok.stdout, ok
    refused = check(str(bad))
    assert refused.returncode == 2 and "mqtt.prot: unknown key (是不是 did you mean 'port'?)" in refused.stderr
    both = check(str(good), "--config", str(bad))
    assert both.returncode == 2 and "two files given" in both.stderr, both


def test_a_relative_state_dir_is_beside_the_config_wherever_the_hub_is_started(tmp_path, broker, subscriber):
    """`state_dir = "state"` was read against the working directory: under systemd the queue went to
    /state, and an installer checking the file from his home folder got another directory than the hub.
    Now it is the folder beside hub.toml, for `hub config check` and `hub run` alike, started elsewhere."""
    cfg = write_config(tmp_path / "unit" / "hub.toml", broker.port)
    cfg.write_text(cfg.read_text().replace(f'state_dir = "{cfg.parent / "state"}"', 'state_dir = "state"'))
    elsewhere = tmp_path / "installer-home"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    checked = subprocess.run([sys.executable, "-m", "hub", "config", "check", "--config", "../unit/hub.toml"],
                             capture_output=True, text=True, timeout=60, cwd=elsewhere, env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"state_dir {tmp_path / 'unit' / 'state'})" in checked.stdout, checked.stdout

    hub = HubProcess(cfg, env=env, cwd=elsewhere).start()
    try:
        sub = subscriber()
        hub.sim("press")
        assert sub.wait_event("call.raised", 10, kind="emergency"), hub.log_tail()
        assert (tmp_path / "unit" / "state" / "outbox.db").exists()
        assert list(elsewhere.iterdir()) == [], "nothing is written where the hub was started"
    finally:
        hub.stop()


def test_config_path_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    assert resolve_path(None) == Path("/etc/eldercare-hub/hub.toml")
    monkeypatch.setenv("HUB_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_path(None) == tmp_path / "env.toml"
    assert resolve_path("/x.toml") == Path("/x.toml")


def test_load_reads_a_file(tmp_path):
    p = tmp_path / "hub.toml"
    p.write_text('[hub]\nid = "unit-7"\nstate_dir = "/tmp/x"\n[mqtt]\ntopic_prefix = "a/b/"\n')
    cfg = load(p)
    assert cfg.hub_id == "unit-7" and cfg.topic_base == "a/b/unit-7"


def test_a_sensor_pin_that_clashes_with_a_button_is_refused():
    with pytest.raises(ConfigError) as err:
        validate({"buttons": [{"pin": 24, "kind": "emergency"}]})
    assert "GPIO24" in str(err.value)
