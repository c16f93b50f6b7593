"""Read and check a provisioning bundle: from a file, from scanned QR text, or from a QR code image.

QR text is either the bundle JSON itself or `EHUB1:` followed by base64url (no padding needed) of the
zlib-compressed JSON, which fits a bundle with credentials in one QR code. Every refusal names the
field (`broker.port`, `hardware.buttons[1].kind`) and never shows a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hub.provision.credentials import check_credentials
from hub.provision.fields import BundleError, validate
from hub.provision.schema import BUNDLE_SCHEMA

QR_PREFIX = "EHUB1:"
MAX_BUNDLE_BYTES = 256 * 1024


def parse_text(text: str) -> dict[str, Any]:
    """Scanned text (raw JSON, EHUB1:..., or the set-up page's link http://…/#EHUB1:…) -> validated bundle."""
    text = text.strip()
    if not text.startswith(("{", QR_PREFIX)) and "#" in text:  # the set-up link the platform's QR may hold
        fragment = unquote(text.split("#", 1)[1]).strip()  # a scanner may have written ':' as %3A
        if fragment.startswith(QR_PREFIX):
            text = fragment
    if text.startswith(QR_PREFIX):
        packed = text[len(QR_PREFIX) :].strip()
        try:
            raw = zlib.decompress(
                base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)), bufsize=MAX_BUNDLE_BYTES
            )
            text = raw.decode("utf-8")
        except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
            raise BundleError(
                "(qr)", f"二维码读不出 not a readable {QR_PREFIX} code ({exc}); 请重新扫描 scan it again"
            ) from None
    if len(text.encode("utf-8")) > MAX_BUNDLE_BYTES:
        raise BundleError("(file)", f"文件太大 larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            "(json)", f"格式不对 not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return check(data)


def pack_text(bundle: dict[str, Any]) -> str:
    """The compact QR form of a bundle (what the platform prints; used by tests)."""
    raw = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return QR_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def load_file(path: Path) -> dict[str, Any]:
    try:
        return parse_text(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError("(file)", f"找不到文件 {path} not found: 检查路径 check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError("(file)", f"读不了文件 cannot read {path}: {exc}") from None


def load_qr_image(path: Path) -> dict[str, Any]:
    """Decode a QR code photo/scan with zbarimg (apt install zbar-tools), looked up only when used."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        raise BundleError(
            "(qr-image)",
            "没有安装 zbarimg not installed: apt-get install zbar-tools, or paste the scanned text with --qr-text",
        )
    if not path.is_file():
        raise BundleError("(qr-image)", f"找不到图片 {path} not found: 检查路径 check the path")
    result = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    text = result.stdout.decode("utf-8", "replace").strip()
    if result.returncode != 0 or not text:
        raise BundleError("(qr-image)", f"no QR code found in {path}; photograph it flat and in focus")
    return parse_text(text)


def check(data: Any) -> dict[str, Any]:
    """Schema check, then the rules a schema cannot say. Returns the bundle unchanged."""
    validate(BUNDLE_SCHEMA, data, "", secret=False)
    check_credentials(data)
    _check_pins(data["hardware"])
    return data


def _check_pins(hw: dict[str, Any]) -> None:
    """Each GPIO pin and serial port used once, and the I2C lines left free when an I2C part is fitted."""
    used: dict[int, str] = {}

    def claim(pin: int | None, where: str) -> None:
        if pin is None:
            return
        if pin in used:
            raise BundleError(where, f"GPIO{pin} is already used by {used[pin]}")
        used[pin] = where

    for i, button in enumerate(hw["buttons"]):
        claim(button["pin"], f"hardware.buttons[{i}].pin")
    for i, button in enumerate(hw["buttons"]):
        claim(button.get("led_pin"), f"hardware.buttons[{i}].led_pin")
    claim(hw.get("status_led_pin"), "hardware.status_led_pin")
    claim(hw.get("buzzer_pin"), "hardware.buzzer_pin")
    claim(hw.get("pir", {}).get("pin"), "hardware.pir.pin")
    smoke = hw.get("smoke", {})
    if smoke.get("kind") == "relay":
        claim(smoke.get("pin"), "hardware.smoke.pin")
    claim(hw.get("power_good_pin"), "hardware.power_good_pin")
    for bus_pin in (2, 3):  # I2C SDA/SCL on the Pi header
        if bus_pin in used and ("temperature" in hw or smoke.get("kind") == "analog"):
            raise BundleError(
                used[bus_pin],
                f"GPIO{bus_pin} 是 I2C 总线，温度/烟雾传感器要用，请换一个 / GPIO{bus_pin} is an I2C line "
                "(SDA=GPIO2, SCL=GPIO3) and an I2C part is fitted: pick another pin",
            )
    ports: dict[str, str] = {}
    for name in ("radar", "modem"):
        if name in hw:
            port = hw[name]["port"]
            if port in ports:
                raise BundleError(
                    f"hardware.{name}.port", f"{port} is already used by hardware.{ports[port]}"
                )
            ports[port] = name
