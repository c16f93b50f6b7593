"""Checks for the wizard's answers, each run as the answer is given, in plain bilingual words.

Each answer is checked against its field of the bundle schema (hub.provision.fields.validate_field) and
against the hub's own rule for the config key it becomes (hub.config.loader.check_key), so the wizard,
`hub provision --bundle` and `hub config check` agree; plus what only the wizard can know when it asks:
a GPIO pin already given to an earlier answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.config.loader import ConfigError, check_key
from hub.config.schema import OUTPUTS
from hub.provision.credentials import demo_id_problem, is_weak_secret
from hub.provision.fields import BundleError, validate_field

# I2C addresses each part answers at (datasheets): a typo here is a sensor fault after the installer left.
PART_ADDRESSES = {"sht3x": (0x44, 0x45), "bme280": (0x76, 0x77), "ads1115": (0x48, 0x49, 0x4A, 0x4B)}
PHONE = re.compile(r"^\+?[0-9]{5,20}$")
# The config key a bundle field becomes where the hub has a rule of its own for it (a host with its port,
# hub.config.schema): the wizard's questions and the set-up page's field check both apply it.
CONFIG_KEYS = {"broker.host": "mqtt.host", "broker.port": "mqtt.port", "broker.username": "mqtt.username"}
WEAK_PASSWORD = "不能使用默认/演示密码 a default/demo password is not allowed: use this hub's own"


def field(path: str, convert: Callable[[str], Any] = str, config_key: str | None = None) -> Callable[[str], Any]:
    """Parse one answer, then check it as the bundle field `path` and (if given) the config key."""

    def parse(raw: str) -> Any:
        try:
            value = convert(raw)
        except ValueError as exc:
            said = str(exc)
            raise ValueError(said if said.startswith("请") else f"格式不对 not a valid value: {raw!r}") from None
        check(path, value, config_key)
        return value

    return parse


def check(path: str, value: Any, config_key: str | None = None) -> None:
    try:
        validate_field(path, value)
        if config_key:
            check_key(config_key, value)
    except BundleError as exc:
        raise ValueError(exc.problem) from None
    except ConfigError as exc:
        raise ValueError(exc.problem) from None


def answer(path: str, value: Any) -> None:
    """One bundle field as the set-up page sends it (already a number or text), with every rule the wizard
    applies to the same answer, so a field the page passes is not refused at "保存配置" after all."""
    if path == "hub.id" and isinstance(value, str):
        hub_id(value)
        return
    check(path, value, CONFIG_KEYS.get(path))
    if path == "broker.password" and isinstance(value, str) and is_weak_secret(value):
        raise ValueError(WEAK_PASSWORD)


def integer(raw: str) -> int:
    try:
        return int(raw, 0)  # 17, 0x11
    except ValueError:
        raise ValueError(f"请输入数字 give a number, not {raw!r}") from None


def hex_address(raw: str) -> int:
    """I2C addresses are written in hex on every board and datasheet: "44", "0x44" and "44h" are 0x44."""
    text = raw.strip().lower().removesuffix("h")
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError(f"请输入十六进制地址 give the address in hex, e.g. 0x44 (not {raw!r})") from None


def address_for(part: str, bundle_path: str, config_key: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        address = hex_address(raw)
        allowed = PART_ADDRESSES[part]
        if address not in allowed:
            listed = " / ".join(f"0x{a:02X}" for a in allowed)
            raise ValueError(f"{part} 的地址只能是 {listed} / a {part} answers only at {listed} "
                             f"(you gave 0x{address:02X})")
        check(bundle_path, address, config_key)
        return address

    return parse


def hub_id(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", raw):
        raise ValueError("只能用字母、数字和 . _ - / letters, digits, '.', '_' and '-' only (up to 64)")
    problem = demo_id_problem(raw)
    if problem:
        raise ValueError(problem)
    return raw


def phone_numbers(raw: str) -> list[str]:
    """Duty SMS numbers, comma or space separated; at least one (a modem exists to text them)."""
    numbers = [n for n in re.split(r"[,，;\s]+", raw.strip()) if n]
    if not numbers:
        raise ValueError("装了 4G 模块就要至少一个值班号码 a modem needs at least one duty number to text "
                         "when the platform cannot be reached")
    for number in numbers:
        if not PHONE.match(number.replace("-", "")):
            raise ValueError(f"{number!r} 不是电话号码 is not a phone number (digits, optional leading +)")
    numbers = [n.replace("-", "") for n in numbers]
    check("hardware.modem.sms_numbers", numbers, "modem.sms_numbers")
    return numbers


def voice(raw: str) -> str:
    from hub.config.environment import voice_problem

    check("voice.espeak_voice", raw, "voice.espeak_voice")
    problem = voice_problem(raw)
    if problem:
        raise ValueError(problem)
    return raw


# --- GPIO pins: which earlier answer has one ---------------------------------------------------------


def pin_name(path: str) -> tuple[str, str]:
    """A pin's owner (Mandarin, English) in the words the installer answered with."""
    found = re.match(r"hardware\.buttons\[(\d+)\]\.(pin|led_pin)", path)
    if found:
        n, led = int(found.group(1)) + 1, found.group(2) == "led_pin"
        return (f"按钮 {n}" + ("的灯" if led else ""), f"button {n}" + (" LED" if led else ""))
    return {
        "hardware.pir.pin": ("人体感应", "the PIR motion sensor"),
        "hardware.smoke.pin": ("烟雾报警器继电器", "the smoke relay"),
        "hardware.smoke.trouble_pin": ("烟雾报警器故障线", "the smoke trouble line"),
        "hardware.power_good_pin": ("市电检测", "the UPS power-good line"),
        "hardware.low_battery_pin": ("低电量检测", "the low-battery line"),
        "hardware.status_led_pin": ("状态灯", "the status LED"),
        "hardware.buzzer_pin": ("蜂鸣器", "the buzzer"),
    }.get(path, (path, path))


def pins_taken(hw: dict[str, Any]) -> dict[int, str]:
    """Every GPIO the answers so far use -> its bundle path; the status LED and buzzer at their config
    defaults (GPIO5, GPIO6) unless the bundle moves them."""
    taken: dict[int, str] = {}
    outputs = OUTPUTS.keys
    taken[hw.get("status_led_pin", outputs["status_led_pin"].default)] = "hardware.status_led_pin"
    taken[hw.get("buzzer_pin", outputs["buzzer_pin"].default)] = "hardware.buzzer_pin"
    for i, button in enumerate(hw.get("buttons", [])):
        for key in ("pin", "led_pin"):
            if button.get(key) is not None:
                taken[button[key]] = f"hardware.buttons[{i}].{key}"
    for part, key in (("pir", "pin"), ("smoke", "pin"), ("smoke", "trouble_pin")):
        if isinstance(hw.get(part), dict) and hw[part].get(key) is not None:
            taken[hw[part][key]] = f"hardware.{part}.{key}"
    for key in ("power_good_pin", "low_battery_pin"):
        if hw.get(key) is not None:
            taken[hw[key]] = f"hardware.{key}"
    return taken


def gpio(path: str, hw: dict[str, Any]) -> Callable[[str], int]:
    """A GPIO answer for `path`: a BCM number 0..27, not one an earlier answer (other than this) uses."""

    def parse(raw: str) -> int:
        pin = integer(raw)
        if not 0 <= pin <= 27:
            raise ValueError(f"GPIO 编号是 0 到 27 / a BCM GPIO number is 0..27 (you gave {pin})")
        i2c_part = "temperature" in hw or hw.get("smoke", {}).get("kind") == "analog"
        if pin in (2, 3) and i2c_part:
            raise ValueError(f"GPIO{pin} 是 I2C 总线，温度/烟雾传感器要用，请换一个 / GPIO{pin} is an I2C line "
                             "(SDA=GPIO2, SCL=GPIO3) and an I2C part is fitted: pick another pin")
        owner = pins_taken(hw).get(pin)
        if owner is not None and owner != path:
            zh, en = pin_name(owner)
            raise ValueError(f"GPIO{pin} 已经给了{zh}，请换一个 / GPIO{pin} is already used by {en}: "
                             "pick another pin")
        return pin

    return parse
