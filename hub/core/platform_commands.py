"""Validate commands from the platform (`{prefix}/{hub}/cmd/NAME`) before anything acts on them.

Anything malformed — not JSON, not an object, wrong field types, oversize, unknown name — is refused
with a reason for the log; the hub keeps running and keeps its queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Fields each core command must carry, with their types; feature commands check their own bodies.
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "ack": {"event_id": str},
}
OPTIONAL: dict[str, dict[str, type | tuple[type, ...]]] = {
    "ack": {"by": str, "message": str},
}


@dataclass(frozen=True)
class Command:
    name: str
    body: dict[str, Any]


def parse_command(name: str, payload: bytes, max_bytes: int, known: set[str]) -> Command:
    if "/" in name or name not in known:
        raise ValueError(f"unknown command topic cmd/{name[:60]!r}; known: {', '.join(sorted(known))}")
    if len(payload) > max_bytes:
        raise ValueError(f"cmd/{name}: payload of {len(payload)} bytes exceeds {max_bytes}")
    if not payload.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cmd/{name}: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ValueError(f"cmd/{name}: must be a JSON object, got {type(body).__name__}")
    for key, kind in REQUIRED.get(name, {}).items():
        if not isinstance(body.get(key), kind) or (kind is str and not body[key]):
            raise ValueError(f"cmd/{name}: field {key!r} must be a non-empty {_name(kind)}, "
                             f"got {body.get(key)!r}")
    for key, kind in OPTIONAL.get(name, {}).items():
        if key in body and body[key] is not None and not isinstance(body[key], kind):
            raise ValueError(f"cmd/{name}: field {key!r} must be a {_name(kind)}, got {body[key]!r}")
    if name == "ack":
        texts = ("event_id", "by", "message")
        body = {**body, **{k: clean_text(body[k]) for k in texts if isinstance(body.get(k), str)}}
    return Command(name, body)


def clean_text(text: str) -> str:
    """Text from the platform as it can be stored, sent and spoken: a lone UTF-16 surrogate (valid in
    JSON, not in UTF-8) becomes U+FFFD, so an ack from a platform with a text bug still applies
    whole instead of failing at its commit."""
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _name(kind: type | tuple[type, ...]) -> str:
    return kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
