"""The wizard's questions, one step each, filling a draft bundle. Every step takes its defaults from the
draft, so asking a step again (the final check found a problem in it) keeps every earlier answer.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hub.alarms.words import CALL_WORDS
from hub.provision import answers as a
from hub.provision.credentials import demo_id_problem

KINDS = ("emergency", "health", "service", "family")
KIND_ZH = {kind: words[0] for kind, words in CALL_WORDS.items()}  # the names she hears and the console shows
DEFAULT_PINS = (17, 27, 22, 23)
NONE_WORDS = ("", "-", "none", "无", "no", "n")


class Asker(Protocol):
    def say(self, text: str) -> None: ...

    def ask(self, question: str, default: Any = None, check: Any = None, secret: bool = False) -> Any: ...

    def yes(self, question: str, default: bool) -> bool: ...


Draft = dict[str, Any]  # the bundle being answered: {"hub": {...}, "broker": {...}, "hardware": {...}}


@dataclass(frozen=True)
class Step:
    title: str
    owns: tuple[str, ...]  # bundle fields (prefixes) this step answers: a refusal there asks it again
    ask: Callable[[Asker, Draft], None]


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda raw: None if raw.strip().lower() in NONE_WORDS else parse(raw)


def default_hub_id() -> str:
    try:
        machine = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine = socket.gethostname()
    return f"hub-{machine[-6:] or '000001'}"


def _hub(key: str, question: str) -> Callable[[Asker, Draft], None]:
    def ask(p: Asker, d: Draft) -> None:
        parse = a.hub_id if key == "id" else a.field(f"hub.{key}")
        d["hub"][key] = p.ask(question, d["hub"].get(key) or None, parse)

    return ask


def _host(p: Asker, d: Draft) -> None:
    d["broker"]["host"] = p.ask("host", d["broker"].get("host") or "localhost",
                                a.field("broker.host", config_key=a.CONFIG_KEYS["broker.host"]))


def _port(p: Asker, d: Draft) -> None:
    d["broker"]["port"] = p.ask("port", d["broker"].get("port") or 8883,
                                a.field("broker.port", a.integer, a.CONFIG_KEYS["broker.port"]))


def _tls(p: Asker, d: Draft) -> None:
    broker = d["broker"]
    if not p.yes("使用 TLS use TLS", "tls" in broker or broker["port"] == 8883):
        broker.pop("tls", None)
        return
    ca = p.ask("CA 证书文件 CA file (PEM; Enter = system CAs)", "-", optional(_pem_file))
    broker["tls"] = {"ca_pem": ca} if ca else {}


def _pem_file(raw: str) -> str:
    try:
        text = Path(raw).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"读不了这个文件 cannot read {raw}: {exc}") from None
    a.check("broker.tls.ca_pem", text)
    return text


def _username(p: Asker, d: Draft) -> None:
    d["broker"]["username"] = p.ask("username", d["broker"].get("username") or f"hub-{d['hub']['id']}",
                                    a.field("broker.username", config_key=a.CONFIG_KEYS["broker.username"]))


def _password(p: Asker, d: Draft) -> None:
    d["broker"]["password"] = p.ask("password", d["broker"].get("password"), _strong, secret=True)


def _strong(raw: str) -> str:
    a.answer("broker.password", raw)
    return raw


def _buttons(p: Asker, d: Draft) -> None:
    hw = d["hardware"]
    old = hw.get("buttons", [])
    only = re.match(r"hardware\.buttons\[(\d+)\]", d.pop("only", ""))
    if only and int(only.group(1)) < len(old):  # the final check refused one button: ask just that one
        count, which = len(old), [int(only.group(1))]
    else:
        count = p.ask("数量 how many", len(old) or 4, lambda r: _in_range(a.integer(r), 1, 8))
        which = list(range(count))
    hw["buttons"] = old[:count]
    for i in which:
        was = hw["buttons"][i] if i < len(hw["buttons"]) else {}
        if i >= len(hw["buttons"]):
            hw["buttons"].append(was)
        was["pin"] = p.ask(f"按钮 {i + 1} GPIO", was.get("pin", DEFAULT_PINS[i] if i < len(DEFAULT_PINS) else None),
                           a.gpio(f"hardware.buttons[{i}].pin", hw))
        if i == which[0]:  # the kinds once, on a line of their own: the prompts stay short on 80 columns
            p.say("  用途: " + ", ".join(f"{k} {KIND_ZH[k]}" for k in KINDS))
        was["kind"] = p.ask(f"按钮 {i + 1} 用途 kind", was.get("kind", KINDS[i % len(KINDS)]),
                            a.field("hardware.buttons.0.kind"))


def _in_range(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"请输入 {low} 到 {high} / give a number from {low} to {high}")
    return value


def _pir(p: Asker, d: Draft) -> None:
    hw = d["hardware"]
    fitted = p.yes("已安装 fitted", "pir" in hw or not d.get("pir_answered"))
    d["pir_answered"] = True
    if fitted:
        hw["pir"] = {"pin": p.ask("GPIO", hw.get("pir", {}).get("pin", 24), a.gpio("hardware.pir.pin", hw))}
    else:
        hw.pop("pir", None)


def _smoke(p: Asker, d: Draft) -> None:
    hw = d["hardware"]
    was = hw.get("smoke", {})
    kind = p.ask("类型 kind (analog, relay, none)", was.get("kind", "analog"),
                 _one_of("analog", "relay", "none"))
    hw.pop("smoke", None)
    if kind == "relay":
        hw["smoke"] = {"kind": "relay"}
        hw["smoke"]["pin"] = p.ask("GPIO", was.get("pin", 25), a.gpio("hardware.smoke.pin", hw))
    elif kind == "analog":
        address = p.ask("ADS1115 地址 address (hex)", f"0x{was.get('address', 0x48):02X}",
                        a.address_for("ads1115", "hardware.smoke.address", "smoke.adc_address"))
        hw["smoke"] = {"kind": "analog", "address": address}


def _temperature(p: Asker, d: Draft) -> None:
    hw = d["hardware"]
    was = hw.get("temperature", {})
    part = p.ask("型号 part (sht3x, bme280, none)", was.get("part", "sht3x"), _one_of("sht3x", "bme280", "none"))
    hw.pop("temperature", None)
    if part != "none":
        default = was.get("address") if was.get("part") == part else a.PART_ADDRESSES[part][0]
        address = p.ask("I2C 地址 address (hex)", f"0x{default:02X}",
                        a.address_for(part, "hardware.temperature.address", "temperature.address"))
        hw["temperature"] = {"part": part, "address": address}


def _extras(p: Asker, d: Draft) -> None:
    hw = d["hardware"]
    was_good = hw.pop("power_good_pin", None)
    good = p.ask("UPS power-good GPIO", "-" if was_good is None else was_good,
                 optional(a.gpio("hardware.power_good_pin", hw)))
    if good is not None:
        hw["power_good_pin"] = good
    radar = p.ask("跌倒雷达串口 radar port", hw.pop("radar", {}).get("port", "-"),
                  optional(a.field("hardware.radar.port")))
    if radar:
        hw["radar"] = {"port": radar}
    was = hw.pop("modem", {})
    modem = p.ask("4G 模块串口 modem AT port", was.get("port", "-"), optional(a.field("hardware.modem.port")))
    if modem:
        numbers = p.ask("值班短信号码 duty SMS numbers (用逗号分开 a, b)",
                        ", ".join(was.get("sms_numbers", [])) or None, a.phone_numbers)
        hw["modem"] = {"port": modem, "sms_numbers": numbers}


def _voice(p: Asker, d: Draft) -> None:
    d.setdefault("voice", {})["espeak_voice"] = p.ask(
        "普通话语音 Mandarin voice",
        d.get("voice", {}).get("espeak_voice", "auto"), a.voice)


def _one_of(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"请输入 answer one of: {', '.join(allowed)}")
        return raw

    return parse


STEPS: tuple[Step, ...] = (
    Step("本机编号 hub id (from the platform)", ("hub.id",), _hub("id", "hub id")),
    Step("老人编号 resident reference", ("hub.resident_ref",), _hub("resident_ref", "resident_ref")),
    Step("社区编号 community reference", ("hub.community_ref",), _hub("community_ref", "community_ref")),
    Step("平台地址 broker host (不带端口 no port)", ("broker.host",), _host),
    Step("端口 broker port", ("broker.port",), _port),
    Step("加密连接 TLS", ("broker.tls",), _tls),
    Step("账号 broker user name", ("broker.username",), _username),
    Step("密码 broker password (不显示 not shown)", ("broker.password", "broker"), _password),
    Step("呼叫按钮 call buttons", ("hardware.buttons", "hardware.status_led_pin", "hardware.buzzer_pin",
                                 "hardware"), _buttons),
    Step("人体感应 PIR motion sensor", ("hardware.pir",), _pir),
    Step("烟雾 smoke sensor (analog = MQ-2/ADS1115, relay = 报警器继电器)", ("hardware.smoke",), _smoke),
    Step("温度 temperature sensor", ("hardware.temperature",), _temperature),
    Step("市电、雷达、4G 模块 power-good pin, radar, modem (Enter = 未安装 none)",
         ("hardware.power_good_pin", "hardware.low_battery_pin", "hardware.radar", "hardware.modem"), _extras),
    Step("语音 voice (espeak-ng; auto = 自动选择 the hub picks one)", ("voice",), _voice),
)


def owner(field: str) -> int:
    """The step that answers bundle field `field` ("hardware.buttons[1].pin"): the longest prefix."""
    best, length = 0, -1
    for i, step in enumerate(STEPS):
        for prefix in step.owns:
            if (field == prefix or field.startswith(prefix + ".") or field.startswith(prefix + "[")) \
                    and len(prefix) > length:
                best, length = i, len(prefix)
    return best


def start(previous: dict[str, Any]) -> Draft:
    """A draft from the config being replaced (re-provisioning): its id (unless a demo one) and broker."""
    hub_prev, mqtt_prev = previous.get("hub", {}), previous.get("mqtt", {})
    old_id = str(hub_prev.get("id") or "")
    draft: Draft = {"hub": {}, "broker": {}, "hardware": {}}
    draft["hub"]["id"] = old_id if old_id and not demo_id_problem(old_id) else default_hub_id()
    for key in ("resident_ref", "community_ref"):
        if hub_prev.get(key):
            draft["hub"][key] = hub_prev[key]
    for key in ("host", "port", "username"):
        if mqtt_prev.get(key) and not (key == "port" and mqtt_prev[key] == 1883 and mqtt_prev.get("host") in
                                       (None, "localhost")):
            draft["broker"][key] = mqtt_prev[key]
    # Enter keeps the installed password ("[******]"), unless it is one the wizard would refuse
    with contextlib.suppress(ValueError):
        draft["broker"]["password"] = _strong(str(mqtt_prev.get("password") or ""))
    draft["hardware"] = _installed(previous)
    if previous.get("motion", {}).get("fitted") is False:
        draft["pir_answered"] = True  # "fitted (y/n) [n]": none is installed
    if previous.get("voice", {}).get("espeak_voice"):
        draft["voice"] = {"espeak_voice": previous["voice"]["espeak_voice"]}
    return draft


def _installed(previous: dict[str, Any]) -> dict[str, Any]:
    """The parts the config being replaced has, as the hardware questions ask for them: a second run to change
    one pin must not put every other part back to the wizard's defaults when the installer presses Enter."""
    hw: dict[str, Any] = {}
    if previous.get("buttons"):
        hw["buttons"] = [{"pin": b["pin"], "kind": b["kind"]} for b in previous["buttons"]]
    motion, smoke, temp = previous.get("motion", {}), previous.get("smoke", {}), previous.get("temperature", {})
    if motion.get("fitted") and motion.get("pin") is not None:
        hw["pir"] = {"pin": motion["pin"]}
    if smoke.get("kind") == "relay":
        hw["smoke"] = {"kind": "relay", "pin": smoke.get("relay_pin", 25)}
    elif smoke.get("kind") == "analog":
        hw["smoke"] = {"kind": "analog", "address": smoke.get("adc_address") or 0x48}
    if temp.get("part") in a.PART_ADDRESSES:
        hw["temperature"] = {"part": temp["part"], "address": temp.get("address") or a.PART_ADDRESSES[temp["part"]][0]}
    if previous.get("power", {}).get("fitted"):
        hw["power_good_pin"] = previous["power"]["good_pin"]
        if previous["power"].get("low_battery_pin") is not None:
            hw["low_battery_pin"] = previous["power"]["low_battery_pin"]
    if previous.get("fall", {}).get("radar_port"):
        hw["radar"] = {"port": previous["fall"]["radar_port"]}
    if previous.get("modem", {}).get("port"):
        modem = previous["modem"]
        hw["modem"] = {"port": modem["port"], "sms_numbers": list(modem.get("sms_numbers") or [])}
    return hw


def bundle_of(draft: Draft) -> dict[str, Any]:
    out = {"version": 1, "hub": draft["hub"], "broker": draft["broker"], "hardware": draft["hardware"]}
    if draft.get("voice", {}).get("espeak_voice", "auto") != "auto":
        out["voice"] = draft["voice"]
    return out
