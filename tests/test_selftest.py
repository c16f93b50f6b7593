"""`hub selftest` against a running simulated hub: healthy passes, each simulated fault fails naming
the part, the remote command publishes a schema-valid system.selftest, and the table/JSON contract."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hub.cli.selftest import _width, print_table
from tests.hubproc import broker, hub_cli, running_hub, write_config

ROOT = Path(__file__).resolve().parent.parent


def selftest_json(cfg: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    r = hub_cli("selftest", "--simulate", "--non-interactive", "--json", "--config", str(cfg), *extra)
    return r.returncode, json.loads(r.stdout)


@pytest.fixture(scope="module")
def sim_hub(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("selftest")
    with broker(tmp) as port:
        cfg = write_config(tmp, port, "t-selftest")
        with running_hub(cfg):
            yield cfg, port


def test_healthy_simulation_passes(sim_hub: Any) -> None:
    cfg, _ = sim_hub
    code, report = selftest_json(cfg)
    assert code == 0, report
    assert report["ok"] and not report["failed_components"]
    by = {(r["component"], r["check"]): r for r in report["results"]}
    assert by[("temperature", "answers, plausible")]["result"] == "pass"
    assert "°C" in by[("temperature", "answers, plausible")]["value"]
    assert by[("broker", "round trip")]["result"] == "pass"
    guided = [r for r in report["results"] if r["value"].startswith("non-interactive")]
    assert guided and all(r["result"] == "skip" for r in guided)  # says it skipped them


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ("temperature", "nack"),
        ("temperature", "bad_crc"),
        ("temperature", "short"),
        ("temperature", "stuck"),
        ("temperature", "impossible"),
        ("smoke", "nack"),
        ("pir", None),
    ],
)
def test_each_fault_fails_naming_the_part(sim_hub: Any, part: str, kind: str | None) -> None:
    cfg, _ = sim_hub
    r = hub_cli("sim", "fault", part, *([kind] if kind else []), "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    try:
        code, report = selftest_json(cfg, "--only", part)
        assert code == 1
        assert report["failed_components"] == [part]
        failed = [x for x in report["results"] if x["result"] == "fail"]
        assert failed and all(x["remedy"] for x in failed)
    finally:
        assert hub_cli("sim", "fault", "clear", "--config", str(cfg)).returncode == 0
    assert selftest_json(cfg, "--only", part)[0] == 0


def test_platform_command_publishes_system_selftest(sim_hub: Any) -> None:
    import paho.mqtt.client as mqtt

    _, port = sim_hub
    got: list[dict[str, Any]] = []
    done = threading.Event()

    def on_message(c: Any, u: Any, m: Any) -> None:
        body = json.loads(m.payload)
        if body.get("type") == "system.selftest" and body["data"]["trigger"] == "platform":
            got.append(body)
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-platform")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("eldercare/v1/t-selftest/event/system", qos=1)
    client.loop_start()
    try:
        client.publish("eldercare/v1/t-selftest/cmd/selftest", json.dumps({"only": "temperature"}), qos=1)
        assert done.wait(30), "no system.selftest after cmd/selftest"
    finally:
        client.loop_stop()
        client.disconnect()
    message = got[0]
    assert message["data"]["ok"] is True and message["data"]["only"] == "temperature"
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs/schemas/system.selftest.json").read_text())
    jsonschema.validate(message, schema)


def test_simulate_without_a_running_hub_says_so(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 1)
    r = hub_cli("selftest", "--simulate", "--non-interactive", "--config", str(cfg))
    assert r.returncode == 2 and "hub run --simulate" in r.stderr


ROWS = [
    {"component": "temperature", "check": "answers, plausible", "result": "fail", "value": "无响应 no response",
     "remedy": "温度传感器无响应：检查 I2C 接线 (SDA=GPIO2, SCL=GPIO3) / check the I2C wiring"},
    {"component": "pir", "check": "input readable", "result": "pass", "value": "GPIO24: idle", "remedy": ""},
    {"component": "audio", "check": "Mandarin voice 普通话语音", "result": "skip", "value": "simulated", "remedy": ""},
]


def test_a_wide_terminal_gets_an_aligned_table_and_each_remedy_under_its_check(
        capsys: pytest.CaptureFixture[str]) -> None:
    print_table(ROWS, sys.stdout, columns=100)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[2].lstrip().startswith("→ 处理办法 remedy: 温度传感器无响应")
    table = [lines[0], lines[1], lines[3], lines[4]]
    measured = ("测量 measured", "无响应", "GPIO24", "simulated")  # one column, whatever the CJK before it
    assert len({_width(line[:line.index(m)]) for line, m in zip(table, measured, strict=True)}) == 1, lines
    assert all(line == line.rstrip() for line in lines)  # no padding after the last column
    assert max(_width(line) for line in table) <= 100


def test_no_results_print_the_header_alone(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([], sys.stdout, columns=80)
    assert capsys.readouterr().out.split() == ["部件", "component", "检查", "check", "结果", "result", "测量",
                                               "measured"]


def test_a_narrow_terminal_gets_one_short_block_per_check_and_loses_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    print_table(ROWS, sys.stdout, columns=50)  # a phone's SSH app
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "失败 FAIL  temperature · answers, plausible",
        "           无响应 no response",
        "           处理办法 remedy: 温度传感器无响应：检查 I2C 接线 (SDA=GPIO2, SCL=GPIO3) / check the I2C wiring"]
    assert "通过 PASS  pir · input readable\n           GPIO24: idle\n" in out
    assert "跳过 SKIP  audio · Mandarin voice 普通话语音\n           simulated\n" in out
    # every line but the remedy (long words wrap on the phone itself) fits
    assert all(_width(line) <= 50 for line in out.splitlines() if "remedy" not in line)


def test_hw_tests_suite_against_the_simulation(sim_hub: Any, tmp_path: Path) -> None:
    """hw-tests/ passes on the healthy simulation, fails on a fault naming the part, and skips (never
    fails) where there is no hub and no hardware."""
    import subprocess
    import sys

    from tests.hubproc import env

    cfg, _ = sim_hub

    def suite(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "hw-tests"), *args],
            capture_output=True,
            text=True,
            timeout=240,
            env=env(),
            cwd=ROOT,
        )

    healthy = suite("--simulate", "--hub-config", str(cfg))
    assert healthy.returncode == 0, healthy.stdout[-1500:]
    assert hub_cli("sim", "fault", "temperature", "--config", str(cfg)).returncode == 0
    try:
        faulty = suite("--simulate", "--hub-config", str(cfg), "-k", "temperature")
    finally:
        hub_cli("sim", "fault", "clear", "--config", str(cfg))
    assert faulty.returncode == 1 and "temperature" in faulty.stdout
    nothing = suite("--hub-config", str(tmp_path / "absent.toml"))
    assert nothing.returncode == 0 and "skipped" in nothing.stdout and "failed" not in nothing.stdout


def test_hw_tests_run_with_pytest_alone_as_on_the_unit(tmp_path: Path) -> None:
    """On a unit the service's venv gets pytest and nothing else (no pytest-timeout, no xdist). The project's
    pytest settings name pytest-timeout's `timeout`, so `pytest hw-tests/` stopped at once with
    "INTERNALERROR … Unknown config option: timeout" (warnings are errors there) before checking a thing."""
    import subprocess
    import sys

    from tests.hubproc import env

    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:timeout", "-p", "no:xdist", "hw-tests",
                           "--hub-config", str(tmp_path / "absent.toml")],
                          capture_output=True, text=True, timeout=120, env=env(), cwd=ROOT)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    assert "skipped" in done.stdout and "INTERNALERROR" not in done.stdout + done.stderr
