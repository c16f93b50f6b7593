"""A bundle against its JSON Schema (hub.provision.schema), field by field: the subset of JSON Schema the
bundle schema uses (type, const, enum, lengths, pattern, ranges, required, additionalProperties, items,
allOf with if/then, writeOnly).

Every refusal is a `BundleError` naming the field (`broker.port`, `hardware.buttons[1].kind`); a
writeOnly field's value is never shown ("(hidden)"). The wizard checks its answers one field at a time
(`validate_field`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hub.provision.schema import BUNDLE_SCHEMA


class BundleError(ValueError):
    """A bundle the hub refuses, worded for the installer: which field, what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"配置包无效 bundle refused: {field}: {problem}")


_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


# Each refusal starts in Mandarin (the set-up page is read on a phone, Chinese first), then says the same in
# English for the technician, with the value shown.
_TYPE_ZH = {"object": "一组设置", "array": "列表", "string": "文字", "integer": "整数", "number": "数字",
            "boolean": "是/否"}
_CLASS_WORDS = (("A-Za-z", "字母", "letters"), ("A-Z", "大写字母", "capital letters"), ("a-z", "小写字母",
                "small letters"), ("0-9", "数字", "digits"))


def _allowed_chars(pattern: str) -> tuple[str, str] | None:
    """(Mandarin, English) of the characters a `^...[CLASS]+$` pattern allows, for an installer who does not
    read regular expressions; None for any other shape."""
    found = re.fullmatch(r"\^(?:\[[^\]^]+\])?\[([^\]^]+)\][+*]\$", pattern)  # `^[first][rest]*$` too
    if found is None:
        return None
    rest, zh, en = found.group(1), [], []
    for chars, word_zh, word_en in _CLASS_WORDS:
        if chars in rest:
            rest = rest.replace(chars, "", 1)
            zh.append(word_zh)
            en.append(word_en)
    if "-" in rest[1:-1] or "\\" in rest:  # another range or an escape: not worth putting in words
        return None
    marks = " ".join(rest)
    if marks:
        zh.append(f" {marks}")
        en.append(marks)
    return "、".join(zh[:-1]) + ("和" if len(zh) > 1 else "") + zh[-1], ", ".join(en[:-1]) + (
        " and " if len(en) > 1 else "") + en[-1]


def _show(value: Any, secret: bool) -> str:
    return "(hidden)" if secret else json.dumps(value, ensure_ascii=False)[:80]


def validate(schema: dict[str, Any], value: Any, where: str, secret: bool) -> None:
    """`value` (at dotted path `where`) against `schema`; `secret`: a writeOnly field's value, never shown."""
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
            raise BundleError(field, f"应为{_TYPE_ZH[kind]} must be {article} {kind}, got {shown}")
    if "const" in schema and value != schema["const"]:
        raise BundleError(field, f"只能是 {schema['const']!r} must be {schema['const']!r}, got {shown}")
    if "enum" in schema and value not in schema["enum"]:
        raise BundleError(field, f"不是可选的值 bad value {shown}; 可选 allowed: {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
            raise BundleError(
                field,
                f"长度不对 length {len(value)} out of range {schema.get('minLength', 0)}.."
                f"{schema.get('maxLength', '')}",
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            words = _allowed_chars(schema["pattern"])
            if words is not None:
                raise BundleError(field, f"只能用{words[0]} / {words[1]} only, not {shown}")
            raise BundleError(field, f"格式不对 bad value {shown}; must match {schema['pattern']}")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and (value < schema.get("minimum", value) or value > schema.get("maximum", value)):
        raise BundleError(field, f"超出范围 {shown} out of range {schema.get('minimum')}..{schema.get('maximum')}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise BundleError(f"{where}.{name}" if where else name, "缺少（必填）missing (required)")
        for name, item in value.items():
            sub = f"{where}.{name}" if where else name
            if name in props:
                validate(props[name], item, sub, secret)
            elif schema.get("additionalProperties") is False:
                raise BundleError(sub, f"没有这一项 unknown field; 可填 allowed: {', '.join(sorted(props))}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            raise BundleError(
                field,
                f"{len(value)} 项，项数不对 {len(value)} entries; allowed "
                f"{schema.get('minItems', 0)}..{schema.get('maxItems', '')}",
            )
        for i, item in enumerate(value):
            validate(schema.get("items", {}), item, f"{where}[{i}]", secret)
    for part in schema.get("allOf", []):
        if "if" in part:
            if _matches(part["if"], value):
                validate(part["then"], value, where, secret)
        else:
            validate(part, value, where, secret)


def validate_field(path: str, value: Any) -> None:
    """Check one answer against its part of the schema (the wizard asks field by field)."""
    schema: dict[str, Any] = BUNDLE_SCHEMA
    for part in path.split("."):
        schema = schema["items"] if part.isdigit() else schema["properties"][part]
    validate(schema, value, path, secret=False)


def _matches(schema: dict[str, Any], value: Any) -> bool:
    try:
        validate(schema, value, "", secret=True)
    except BundleError:
        return False
    return True


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
