"""What is printed on the unit's label: its serial (the fingerprint the page shows, so the installer knows
it is this unit), the set-up code the page asks for, and the hotspot's WPA2 password.

Made once by `hub install` (or at the first set-up mode) in `label.toml` beside the config, mode 0600: the
secrets never leave the unit except on the label; the page never echoes them.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hub.core.files import atomic_write

FILENAME = "label.toml"
_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a small label


@dataclass(frozen=True)
class Label:
    serial: str  # e.g. "3F2A-91C4"
    setup_code: str  # 8 digits
    hotspot_password: str  # 12 characters, WPA2 needs 8-63


def path_for(config_path: Path) -> Path:
    return Path(config_path).with_name(FILENAME)


def load(path: Path) -> Label | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: unreadable label file ({exc}); remove it and run `hub install` again") from None
    try:
        label = Label(str(data["serial"]), str(data["setup_code"]), str(data["hotspot_password"]))
    except KeyError as exc:
        raise ValueError(f"{path}: missing {exc.args[0]}") from None
    if not (label.setup_code.isdigit() and len(label.setup_code) >= 8) or not 8 <= len(label.hotspot_password) <= 63:
        raise ValueError(f"{path}: setup_code must be 8+ digits and hotspot_password 8-63 characters")
    return label


def create(path: Path) -> Label:
    import secrets  # here: `hub run` reads the label before it knows whether OpenSSL is needed (hmac)

    serial = secrets.token_hex(4).upper()
    label = Label(f"{serial[:4]}-{serial[4:]}", "".join(secrets.choice(string.digits) for _ in range(8)),
                  "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12)))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (f'serial = "{label.serial}"\nsetup_code = "{label.setup_code}"\n'
                        f'hotspot_password = "{label.hotspot_password}"\n').encode(), mode=0o600)
    return label


def load_or_create(path: Path) -> Label:
    return load(path) or create(path)
