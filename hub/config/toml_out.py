"""A minimal TOML writer for the hub config (tomllib only reads): tables, arrays of tables, inline tables
and scalars, which is all hub.toml uses. Output round-trips through tomllib (tested)."""

from __future__ import annotations

import json
import math
from typing import Any


def dumps(data: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """`data` maps section -> table (dict) or list of tables; `comments` puts a line above a section."""
    comments = comments or {}
    out: list[str] = []
    for name, body in data.items():
        if body is None:
            continue
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            if out:
                out.append("")
            if name in comments:
                out.append(f"# {comments[name]}")
            out.append(f"[[{name}]]" if isinstance(body, list) else f"[{name}]")
            for key, value in table.items():
                if value is not None:
                    out.append(f"{_key(key)} = {_hex(value) if _is_address(key, value) else _value(value)}")
    return "\n".join(out) + "\n"


def _is_address(key: str, value: Any) -> bool:
    """I2C addresses are written in hex (0x44), as on the board and in the datasheet."""
    return key.endswith("address") and isinstance(value, int) and not isinstance(value, bool)


def _hex(value: int) -> str:
    return f"0x{value:02X}" if value >= 0 else str(value)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else _string(key)


def _string(s: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes for everything json.dumps emits.
    return json.dumps(s, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write non-finite number {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
