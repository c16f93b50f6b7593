"""The interactive provisioning wizard: one question at a time, Mandarin with English, a default in
brackets (Enter keeps it) and a progress line. The answers become a bundle, checked and written exactly
like `hub provision --bundle`; then the live check runs on the hub started with the new config.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from hub.provision.bundle import BundleError, check, is_weak_secret, validate_field
from hub.provision.live_check import LiveCheck

KINDS = ("emergency", "health", "service", "family")
KIND_ZH = {"emergency": "紧急呼叫", "health": "健康咨询", "service": "生活服务", "family": "亲情联络"}
DEFAULT_PINS = (17, 27, 22, 23)
STEPS = 15


class Prompter:
    def __init__(
        self,
        read: Callable[[str], str] = input,
        read_secret: Callable[[str], str] = getpass.getpass,
        out: TextIO = sys.stdout,
    ) -> None:
        self.read, self.read_secret, self.out = read, read_secret, out
        self.step = 0

    def next(self, title: str) -> None:
        self.step += 1
        self.say(f"\n[{self.step}/{STEPS}] {title}")

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ask(
        self,
        question: str,
        default: Any = None,
        check: Callable[[str], Any] | None = None,
        secret: bool = False,
    ) -> Any:
        """Re-asks until `check` accepts (it returns the parsed value or raises ValueError)."""
        shown = "" if default in (None, "") else f" [{default}]"
        while True:
            raw = (self.read_secret if secret else self.read)(f"  {question}{shown}: ").strip()
            if not raw and default is not None:
                raw = str(default)
            try:
                return check(raw) if check else raw
            except (ValueError, BundleError) as exc:
                self.say(f"  ✗ {exc}")

    def yes(self, question: str, default: bool) -> bool:
        return bool(self.ask(question + " (y/n)", "y" if default else "n", _yes_no))


def _yes_no(raw: str) -> bool:
    if raw.lower() in ("y", "yes", "是", "1"):
        return True
    if raw.lower() in ("n", "no", "否", "0"):
        return False
    raise ValueError("请回答 y 或 n / answer y or n")


def _field(path: str, convert: Callable[[str], Any] = str) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            value = convert(raw)
        except ValueError:
            raise ValueError(f"{path}: 格式不对 not a valid value: {raw!r}") from None
        validate_field(path, value)
        return value

    return parse


def _int(raw: str) -> int:
    return int(raw, 0)  # 0x44 or 68


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda raw: None if raw.lower() in ("", "-", "none", "无") else parse(raw)


def _password(raw: str) -> str:
    validate_field("broker.password", raw)
    if is_weak_secret(raw):
        raise ValueError("broker.password: 不能使用默认/演示密码 a default/demo password is not allowed")
    return raw


def default_hub_id() -> str:
    try:
        machine = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine = socket.gethostname()
    return f"hub-{machine[-6:] or '000001'}"


def ask_bundle(p: Prompter, previous: dict[str, Any]) -> dict[str, Any]:
    hub_prev = previous.get("hub", {})
    mqtt_prev = previous.get("mqtt", {})
    p.next("本机编号 hub id (from the platform)")
    hub_id = p.ask(
        "hub id",
        hub_prev.get("id") if hub_prev.get("id", "demo").lower()[:4] != "demo" else default_hub_id(),
        _field("hub.id"),
    )
    p.next("老人编号 resident reference")
    resident = p.ask("resident_ref", hub_prev.get("resident_ref") or None, _field("hub.resident_ref"))
    p.next("社区编号 community reference")
    community = p.ask("community_ref", hub_prev.get("community_ref") or None, _field("hub.community_ref"))
    p.next("平台地址 broker host")
    host = p.ask("host", mqtt_prev.get("host") or "localhost", _field("broker.host"))
    p.next("端口 broker port")
    port = p.ask("port", mqtt_prev.get("port") or 8883, _field("broker.port", _int))
    p.next("加密连接 TLS")
    broker: dict[str, Any] = {"host": host, "port": port}
    if p.yes("使用 TLS use TLS", port == 8883):
        broker["tls"] = {}
        ca = p.ask("CA 证书文件 CA file (PEM; Enter = system CAs)", "-", _optional(_pem_file))
        if ca:
            broker["tls"]["ca_pem"] = ca
    p.next("账号 broker user name")
    broker["username"] = p.ask(
        "username", mqtt_prev.get("username") or f"hub-{hub_id}", _field("broker.username")
    )
    p.next("密码 broker password (不显示 not shown)")
    broker["password"] = p.ask("password", None, _password, secret=True)
    hardware: dict[str, Any] = {"buttons": []}
    p.next("呼叫按钮 call buttons")
    count = p.ask("数量 how many", 4, lambda r: _in_range(_int(r), 1, 8, "buttons"))
    for i in range(count):
        pin = p.ask(
            f"按钮 {i + 1} GPIO",
            DEFAULT_PINS[i] if i < len(DEFAULT_PINS) else None,
            _field("hardware.buttons.0.pin", _int),
        )
        kind = p.ask(
            f"按钮 {i + 1} 用途 kind ({'/'.join(f'{k}={KIND_ZH[k]}' for k in KINDS)})",
            KINDS[i % len(KINDS)],
            _field("hardware.buttons.0.kind"),
        )
        hardware["buttons"].append({"pin": pin, "kind": kind})
    p.next("人体感应 PIR motion sensor")
    if p.yes("已安装 fitted", True):
        hardware["pir"] = {"pin": p.ask("GPIO", 24, _field("hardware.pir.pin", _int))}
    p.next("烟雾 smoke sensor")
    smoke = p.ask(
        "类型 kind (analog=MQ-2/ADS1115, relay=报警器继电器, none)",
        "analog",
        lambda r: r if r in ("analog", "relay", "none") else _bad("analog, relay or none"),
    )
    if smoke == "relay":
        hardware["smoke"] = {"kind": "relay", "pin": p.ask("GPIO", 25, _field("hardware.smoke.pin", _int))}
    elif smoke == "analog":
        hardware["smoke"] = {
            "kind": "analog",
            "address": p.ask("ADS1115 地址 address", "0x48", _field("hardware.smoke.address", _int)),
        }
    p.next("温度 temperature sensor")
    part = p.ask(
        "型号 part (sht3x, bme280, none)",
        "sht3x",
        lambda r: r if r in ("sht3x", "bme280", "none") else _bad("sht3x, bme280 or none"),
    )
    if part != "none":
        address = p.ask(
            "I2C 地址 address",
            "0x44" if part == "sht3x" else "0x76",
            _field("hardware.temperature.address", _int),
        )
        hardware["temperature"] = {"part": part, "address": address}
    p.next("市电检测、雷达、4G 模块 power-good pin, fall radar, modem (Enter = 未安装 none)")
    good = p.ask("UPS power-good GPIO", "-", _optional(_field("hardware.power_good_pin", _int)))
    if good is not None:
        hardware["power_good_pin"] = good
    radar = p.ask("跌倒雷达串口 radar port", "-", _optional(_field("hardware.radar.port")))
    if radar:
        hardware["radar"] = {"port": radar}
    modem = p.ask("4G 模块串口 modem AT port", "-", _optional(_field("hardware.modem.port")))
    if modem:
        hardware["modem"] = {"port": modem}
    return {
        "hub": {"id": hub_id, "resident_ref": resident, "community_ref": community},
        "version": 1,
        "broker": broker,
        "hardware": hardware,
    }


def _in_range(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{what}: {low}..{high}")
    return value


def _bad(allowed: str) -> Any:
    raise ValueError(f"请输入 answer one of: {allowed}")


def _pem_file(raw: str) -> str:
    try:
        text = Path(raw).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"broker.tls.ca_pem: 读不了 cannot read {raw}: {exc}") from None
    validate_field("broker.tls.ca_pem", text)
    return text


def _previous(out: Path) -> dict[str, Any]:
    from hub.config.loader import ConfigError, load

    try:
        return load(out).data
    except ConfigError:
        return {}


def run_wizard(
    out: Path, state_dir: str, simulate: bool, live_check: bool, prompter: Prompter | None = None
) -> int:
    from hub.provision import writer

    p = prompter or Prompter()
    p.say(
        "居家养老智能终端 安装向导 / Eldercare hub provisioning wizard — 回车使用默认值 Enter keeps the "
        "default in [brackets]"
    )
    while True:
        bundle = ask_bundle(p, _previous(out))
        try:
            check(bundle)
            rendered = writer.render(bundle, out, state_dir=str(Path(state_dir).resolve()))
            break
        except BundleError as exc:
            p.say(f"  ✗ {exc} — 请重新填写 please answer again")
            p.step = 0
    p.next("确认 confirm")
    p.say(
        f"  hub {bundle['hub']['id']} → {bundle['broker']['host']}:{bundle['broker']['port']}, "
        f"password ******, fitted: {', '.join(sorted(rendered.fitted))}"
    )
    if not p.yes(f"写入 write {out}", True):
        p.say("未写入 nothing written")
        return 1
    writer.write(rendered, out)
    p.say(f"  ✓ 已写入 written (0600, previous kept as {out.name}.bak)")
    p.next("现场检查 live check")
    rows: list[dict[str, str]] | None = None
    fitted = dict(rendered.fitted)
    if live_check:
        with LiveCheck(out, simulate, p) as live:
            meters = live.pair_meters()
            if meters:
                fitted["ble_meters"] = meters
            rows = live.run()
            writer.write_record(out, "wizard", fitted, rows)
            live.publish_report()
        failed = [r for r in rows if r["result"] == "fail"]
        p.say(
            "  "
            + (
                "✓ 全部通过 all live checks passed"
                if not failed
                else f"✗ 未通过 failed: {', '.join(r['component'] for r in failed)}"
            )
        )
        p.say(json.dumps({"live_check": rows}, ensure_ascii=False))
        return 0 if not failed else 1
    writer.write_record(out, "wizard", fitted, None)
    p.say("  跳过 skipped (--skip-live-check); run 'hub selftest' after starting the service")
    return 0
