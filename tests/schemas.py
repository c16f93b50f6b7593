"""Validate what the hub publishes against docs/schemas/<type>.json (the platform contract)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


@cache
def validator(name: str) -> Draft202012Validator:
    path = SCHEMAS / f"{name}.json"
    if not path.exists():
        raise AssertionError(f"no schema {path.name} in docs/schemas for message type {name!r}")
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(message: dict[str, Any]) -> None:
    """An event envelope: validated against the schema of its type."""
    errors = sorted(validator(str(message.get("type"))).iter_errors(message), key=lambda e: list(e.path))
    if errors:
        raise AssertionError(f"{message.get('type')} violates its schema: "
                             + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))


def assert_valid_as(name: str, message: Any) -> None:
    errors = list(validator(name).iter_errors(message))
    if errors:
        raise AssertionError(f"{name}: " + "; ".join(e.message for e in errors[:5]))
