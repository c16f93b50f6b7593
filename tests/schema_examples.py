"""An example message for every schema in docs/schemas/, made from the schema itself (every property
filled, not only the required ones) and checked against it: what the hub could send, for tests that
must cover every message type, including types added after the test was written."""

from __future__ import annotations

import json
import re
from typing import Any

from schemas import SCHEMAS, validator

# Strings tried, in order, for a string with a pattern: the first the pattern and lengths accept.
STRING_CANDIDATES = ("ok", "Asia/Shanghai", "demo-0001", "a1", "1", "08:00-10:00", "/dev/ttyUSB0",
                     "code_0x87", "-----BEGIN CERTIFICATE-----\n" + "MIIB" * 16 + "\n-----END CERTIFICATE-----\n",
                     "2026-11-22T20:31:05.123+08:00", "0a1b2c", "127.0.0.1:8883", "0123456789abcdef", "+8613800138000",
                     "3f" * 32, "2026-11-22", "08:30")
UUID = "5f3a9c21-8b7e-4d2a-9c1f-2e6b7a8d9e01"
TS = "2026-11-22T20:31:05.123+08:00"


def _string(schema: dict[str, Any], name: str) -> str:
    if schema.get("format") == "uuid":
        return UUID
    if schema.get("format") == "date-time":
        return TS
    if schema.get("format") == "date":
        return TS[:10]
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
    pattern = schema.get("pattern")
    for candidate in ((name.replace("_", "-") or "x"), *STRING_CANDIDATES):
        if low <= len(candidate) <= high and (pattern is None or re.search(pattern, candidate)):
            return candidate
    raise AssertionError(f"no example string for {name!r} ({schema}); add one to STRING_CANDIDATES")


def example(schema: dict[str, Any], name: str = "") -> Any:
    """A value the schema accepts, with every property it names."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return example({**{k: v for k, v in schema.items() if k != key}, **schema[key][0]}, name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        out = {k: example(v, k) for k, v in props.items()
               if not v.get("writeOnly") or k in schema.get("required", ())}  # a required secret: its example
        return {**{k: 1 for k in schema.get("required", ()) if k not in props}, **out}  # untyped: anything
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [example(items, name) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        value = max(schema.get("minimum", 1), min(schema.get("maximum", 42), 42))
        return int(value) if kind == "integer" else float(value) + (0.5 if value < schema.get("maximum", 1e9) else 0)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name)


def examples() -> dict[str, Any]:
    """Schema name -> a valid example of it (validated: a generator bug fails loudly here)."""
    out = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        value = example(schema)
        errors = list(validator(path.stem).iter_errors(value))
        assert not errors, f"example for {path.name} is not valid: {[e.message for e in errors[:3]]}"
        out[path.stem] = value
    return out
