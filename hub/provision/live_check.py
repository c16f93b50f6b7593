"""The wizard's live check, on a hub running the freshly written config: a test call acknowledged by the
platform (the full round trip), the spoken test prompt, one reading from each fitted sensor; and BLE
meter pairing through `hub ble` (which talks to the simulated meters of a simulated hub).

The hub is the service restarted by systemd when it is installed, else a `hub run` child for the
duration (with `--simulate` in the wizard's simulation mode).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from hub.config.loader import load
from hub.core.control import ControlError, request
from hub.core.control import socket_path as control_socket

START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 180.0
SENSOR_COMPONENTS = ("temperature", "smoke", "pir", "power")


class Asker(Protocol):
    def say(self, text: str) -> None: ...

    def ask(self, question: str, default: Any = None, check: Any = None, secret: bool = False) -> Any: ...

    def yes(self, question: str, default: bool) -> bool: ...


class LiveCheck:
    def __init__(self, config_path: Path, simulate: bool, prompter: Asker) -> None:
        self.config = load(config_path)
        self.path, self.simulate, self.p = config_path, simulate, prompter
        self._child: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    # --- the hub under test --------------------------------------------------------------------
    def __enter__(self) -> LiveCheck:
        if not self.simulate and _service_active():
            self.p.say("  重启服务 restarting eldercare-hub with the new config ...")
            subprocess.run(["systemctl", "restart", "eldercare-hub"], check=True, timeout=60)
        else:
            self.p.say("  启动集线器 starting the hub with the new config ...")
            self._log = Path(tempfile.mkstemp(prefix="hub-live-check-", suffix=".log")[1])
            argv = [
                sys.executable,
                "-m",
                "hub",
                "run",
                *(["--simulate"] if self.simulate else []),
                "--config",
                str(self.path),
            ]
            with open(self._log, "ab") as log:
                self._child = subprocess.Popen(
                    argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
                )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        end = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < end:
            if self._child is not None and self._child.poll() is not None:
                tail = self._log.read_text(errors="replace")[-400:] if self._log else ""
                raise RuntimeError(f"the hub stopped at start-up: {tail}")
            try:
                self._ask({"cmd": "steps"}, timeout=2)
                return
            except (ControlError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"the hub did not start within {START_TIMEOUT_S:.0f} s")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._child is not None and self._child.poll() is None:
            self._child.terminate()
            try:
                self._child.wait(20)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(5)

    def _ask(self, message: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """One `selftest.*` command on the hub's control socket (the running hub's self-test component)."""
        return self._request({**message, "cmd": "selftest." + message["cmd"]}, timeout)

    def _request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        return request(control_socket(self.config.state_dir), message, timeout=timeout)

    # --- BLE meters ----------------------------------------------------------------------------
    def pair_meters(self) -> list[dict[str, str]]:
        if not self.config["ble"]["enabled"] or not self.p.yes(
            "配对蓝牙血压计/血糖仪 pair a BLE meter now", False
        ):
            return []
        paired: list[dict[str, str]] = []
        while True:
            self.p.say(
                "  请先用血压计/血糖仪测量一次，让它发出蓝牙信号 / take a measurement so the meter advertises"
            )
            scan = self._hub_cli("ble", "scan", "--json", "--timeout", "8")
            devices = json.loads(scan.stdout) if scan.returncode == 0 and scan.stdout.strip() else []
            if not devices:
                self.p.say(f"  没有发现设备 no meters found {scan.stderr.strip()[-120:]}")
            for i, d in enumerate(devices, 1):
                self.p.say(f"  {i}. {d['address']}  {d['name']}  RSSI {d['rssi']}  {','.join(d['services'])}")
            pick = self.p.ask(
                "选择编号 pick a number (Enter = 跳过 skip)",
                "-",
                _picker(len(devices)),
            )
            if pick is not None:
                device = devices[pick - 1]
                result = self._hub_cli("ble", "pair", device["address"])
                ok = result.returncode == 0
                self.p.say(
                    f"  {'✓ 已配对 paired' if ok else '✗ 配对失败 pairing failed'} {device['address']} "
                    f"{'' if ok else result.stderr.strip()[-160:]}"
                )
                if ok:
                    paired.append({"address": device["address"], "name": str(device.get("name", ""))})
            if not self.p.yes("再配对一个 pair another", False):
                return paired

    def _hub_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *args, "--config", str(self.path)],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    # --- the checks ----------------------------------------------------------------------------
    def run(self) -> list[dict[str, str]]:
        rows = [self._test_call(), self._prompt_heard()]
        for component in SENSOR_COMPONENTS:
            rows.extend(r for r in self._ask({"cmd": "auto", "only": component}, timeout=120)["results"])
        return rows

    def _test_call(self) -> dict[str, str]:
        token = self._ask({"cmd": "call_arm"})["token"]
        if self.simulate:
            self.p.say("  模拟按下呼叫按钮 simulated press of the first call button")
            request(
                control_socket(self.config.state_dir), {"cmd": "sim", "verb": "press", "argv": []}, timeout=30
            )
        else:
            self.p.say(
                "  请按紧急呼叫按钮，并请平台值班员确认 / press the emergency button and ask the platform "
                "operator to acknowledge the test call"
            )
        self.p.say(f"  等待平台确认 waiting up to {CALL_TIMEOUT_S:.0f} s for the acknowledgement ...")
        result = self._ask(
            {"cmd": "call_wait", "token": token, "timeout": CALL_TIMEOUT_S}, timeout=CALL_TIMEOUT_S + 30
        )
        if result["ok"]:
            row = {
                "component": "call",
                "check": "test call acknowledged",
                "result": "pass",
                "value": f"ack by {result['by']} after {result['ack_round_trip_ms']} ms",
                "remedy": "",
            }
        else:
            row = {
                "component": "call",
                "check": "test call acknowledged",
                "result": "fail",
                "value": result["error"],
                "remedy": "检查网络和平台账号，请平台确认是否收到 / check the network and the credentials; "
                "ask the platform whether the call arrived",
            }
        self.p.say(f"  {'✓' if row['result'] == 'pass' else '✗'} {row['value']}")
        return row

    def _prompt_heard(self) -> dict[str, str]:
        self._ask({"cmd": "say_test"})
        self.p.say("  正在播放测试提示音 playing the test prompt: 这是测试提示音")
        answer = self.p.yes("你听到提示音了吗？did you hear the test prompt", True)
        return dict(self._ask({"cmd": "heard", "answer": answer}))

    def publish_report(self) -> None:
        self._request({"cmd": "provision.report"}, timeout=30)  # hub.provision.reporter.REPORT_COMMAND


def _picker(count: int) -> Any:
    return lambda raw: None if raw in ("", "-") else _pick(raw, count)


def _pick(raw: str, count: int) -> int:
    number = int(raw)
    if not 1 <= number <= count:
        raise ValueError(f"1..{count}")
    return number


def _service_active() -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "is-active", "--quiet", "eldercare-hub"], check=False, timeout=10)
    return result.returncode == 0
