"""Read and check a provisioning bundle: from a file, from scanned QR text, or from a QR code image.

QR text is either the bundle JSON itself or `EHUB1:` followed by base64url (no padding needed) of the
zlib-compressed JSON, which fits a bundle with credentials in one QR code. Every refusal names the
field (`broker.port`, `hardware.buttons[1].kind`) and never shows a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

from hub.provision.schema import BUNDLE_SCHEMA

QR_PREFIX = "EHUB1:"
MAX_BUNDLE_BYTES = 256 * 1024
# Credentials that a shipped example, a default or a lazy operator would use: never in the field.
WEAK_SECRETS = (
    "change-me",
    "changeme",
    "change_me",
    "demo",
    "password",
    "passw0rd",
    "secret",
    "default",
    "example",
    "admin",
    "test",
    "123456",
    "12345678",
    "guest",
    "public",
    "mosquitto",
)


class BundleError(ValueError):
    """A bundle the hub refuses, worded for the installer: which field, what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"配置包无效 bundle refused: {field}: {problem}")


def parse_text(text: str) -> dict[str, Any]:
    """Scanned text (raw JSON or EHUB1:...) -> validated bundle."""
    text = text.strip()
    if text.startswith(QR_PREFIX):
        packed = text[len(QR_PREFIX) :].strip()
        try:
            raw = zlib.decompress(
                base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)), bufsize=MAX_BUNDLE_BYTES
            )
            text = raw.decode("utf-8")
        except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
            raise BundleError("(qr)", f"not a readable {QR_PREFIX} code ({exc}); scan it again") from None
    if len(text.encode("utf-8")) > MAX_BUNDLE_BYTES:
        raise BundleError("(file)", f"larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            "(json)", f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
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
        raise BundleError("(file)", f"{path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError("(file)", f"cannot read {path}: {exc}") from None


def load_qr_image(path: Path) -> dict[str, Any]:
    """Decode a QR code photo/scan with zbarimg (apt install zbar-tools), looked up only when used."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        raise BundleError(
            "(qr-image)",
            "zbarimg not installed: apt-get install zbar-tools, or paste the scanned text with --qr-text",
        )
    if not path.is_file():
        raise BundleError("(qr-image)", f"{path} not found")
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
    _validate(BUNDLE_SCHEMA, data, "", secret=False)
    _check_credentials(data)
    _check_pins(data["hardware"])
    return data


def secret_paths() -> set[str]:
    """Dotted paths of the writeOnly fields, e.g. 'broker.password'."""
    found: set[str] = set()

    def walk(schema: dict[str, Any], where: str) -> None:
        if schema.get("writeOnly"):
            found.add(where)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}" if where else name)

    walk(BUNDLE_SCHEMA, "")
    return found


# --- the JSON Schema subset the bundle schema uses -------------------------------------------------

_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def _show(value: Any, secret: bool) -> str:
    return "(hidden)" if secret else json.dumps(value, ensure_ascii=False)[:80]


def _validate(schema: dict[str, Any], value: Any, where: str, secret: bool) -> None:
    field = where or "(bundle)"
    secret = secret or bool(schema.get("writeOnly"))
    shown = _show(value, secret)
    kind = schema.get("type")
    if kind is not None:
        ok = isinstance(value, _TYPES[kind]) and not (
            isinstance(value, bool) and kind in ("integer", "number")
        )
        if not ok:
            article = "an" if kind[0] in "aeiou" else "a"
            raise BundleError(field, f"must be {article} {kind}, got {shown}")
    if "const" in schema and value != schema["const"]:
        raise BundleError(field, f"must be {schema['const']!r}, got {shown}")
    if "enum" in schema and value not in schema["enum"]:
        raise BundleError(field, f"bad value {shown}; allowed: {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
            raise BundleError(
                field,
                f"length {len(value)} out of range {schema.get('minLength', 0)}.."
                f"{schema.get('maxLength', '')}",
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise BundleError(field, f"bad value {shown}; must match {schema['pattern']}")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and (value < schema.get("minimum", value) or value > schema.get("maximum", value)):
        raise BundleError(field, f"{shown} out of range {schema.get('minimum')}..{schema.get('maximum')}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise BundleError(f"{where}.{name}" if where else name, "missing (required)")
        for name, item in value.items():
            sub = f"{where}.{name}" if where else name
            if name in props:
                _validate(props[name], item, sub, secret)
            elif schema.get("additionalProperties") is False:
                raise BundleError(sub, f"unknown field; allowed: {', '.join(sorted(props))}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            raise BundleError(
                field,
                f"{len(value)} entries; allowed {schema.get('minItems', 0)}..{schema.get('maxItems', '')}",
            )
        for i, item in enumerate(value):
            _validate(schema.get("items", {}), item, f"{where}[{i}]", secret)
    for part in schema.get("allOf", []):
        if "if" in part:
            if _matches(part["if"], value):
                _validate(part["then"], value, where, secret)
        else:
            _validate(part, value, where, secret)


def validate_field(path: str, value: Any) -> None:
    """Check one answer against its part of the schema (the wizard asks field by field)."""
    schema: dict[str, Any] = BUNDLE_SCHEMA
    for part in path.split("."):
        schema = schema["items"] if part.isdigit() else schema["properties"][part]
    _validate(schema, value, path, secret=False)


def _matches(schema: dict[str, Any], value: Any) -> bool:
    try:
        _validate(schema, value, "", secret=True)
    except BundleError:
        return False
    return True


# --- rules beyond the schema ------------------------------------------------------------------------


def _check_credentials(data: dict[str, Any]) -> None:
    broker = data["broker"]
    if ("username" in broker) != ("password" in broker):
        raise BundleError("broker.password", "username and password go together; give both or neither")
    tls = broker.get("tls")
    if tls is not None and ("cert_pem" in tls) != ("key_pem" in tls):
        raise BundleError("broker.tls.key_pem", "a client certificate needs its key (cert_pem and key_pem)")
    if tls is not None and "cert_pem" in tls:
        _check_client_certificate(tls["cert_pem"])
    has_credentials = "password" in broker or (tls is not None and "key_pem" in tls)
    if not has_credentials:
        raise BundleError("broker", "no credentials: give username/password or tls cert_pem/key_pem")
    if "password" in broker and is_weak_secret(broker["password"]):
        raise BundleError(
            "broker.password",
            "a default/demo password is not allowed; ask the platform for this hub's own credentials",
        )
    if "username" in broker and broker["username"].strip().lower() in WEAK_SECRETS:
        raise BundleError("broker.username", f"{broker['username']!r} is a default/demo account")
    problem = demo_id_problem(data["hub"]["id"])
    if problem:
        raise BundleError("hub.id", problem)


def demo_id_problem(hub_id: str) -> str:
    """A demo or example id ("demo-0001" is the shipped default): two such hubs share topics and kick
    each other off the broker."""
    if hub_id.lower().startswith(("demo", "example", "test-")):
        return (f"{hub_id!r} 是演示编号 is a demo id: 请填平台给这台设备的编号 use the id the platform "
                "issued for this unit")
    return ""


def _check_client_certificate(cert_pem: str) -> None:
    """As for a rotated one (x509.check_client_leaf); a text that is not one is left to the live test."""
    from hub.certificates.x509 import CertError, check_client_pem
    try:
        check_client_pem(cert_pem)
    except CertError as exc:
        if exc.reason != "bad_certificate":
            raise BundleError("broker.tls.cert_pem", f"{exc.detail} ({exc.reason})") from None


def is_weak_secret(secret: str) -> bool:
    """A listed word, a listed word plus digits/punctuation ("demo1234", "password!"), or too few
    distinct characters ("aaaaaaaa")."""
    low = secret.strip().lower()
    if "changeme" in low.replace("-", "").replace("_", "") or len(set(low)) < 4:
        return True
    return any(low.startswith(w) and not any(c.isalpha() for c in low[len(w) :]) for w in WEAK_SECRETS)


def _check_pins(hw: dict[str, Any]) -> None:
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
