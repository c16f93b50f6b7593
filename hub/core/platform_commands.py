"""Validate commands from the platform (`{prefix}/{hub}/cmd/NAME`) before anything acts on them.

Anything malformed — not JSON, not an object, wrong field types, oversize, nested deeper than
MAX_DEPTH, a NaN/Infinity, a lone surrogate, an unknown name — is refused with a reason for the log
(ValueError and nothing else); the hub keeps running and keeps its queue. Nothing a broker delivers
reaches a handler half-checked.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 16  # arrays/objects inside one another; a real command needs 2 or 3
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")

# Fields each core command must carry, with their types; feature commands check their own bodies.
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "ack": {"event_id": str},
}
OPTIONAL: dict[str, dict[str, type | tuple[type, ...]]] = {
    "ack": {"by": str, "by_name": str, "message": str},
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
    body = _decode(name, payload)
    if not isinstance(body, dict):
        raise ValueError(f"cmd/{name}: must be a JSON object, got {type(body).__name__}")
    for key, kind in REQUIRED.get(name, {}).items():
        if not isinstance(body.get(key), kind) or (kind is str and not body[key]):
            raise ValueError(f"cmd/{name}: field {key!r} must be a non-empty {_name(kind)}, "
                             f"got {_short(body.get(key))}")
    for key, kind in OPTIONAL.get(name, {}).items():
        if key in body and body[key] is not None and not isinstance(body[key], kind):
            raise ValueError(f"cmd/{name}: field {key!r} must be a {_name(kind)}, got {_short(body[key])}")
    if name == "ack":
        texts = ("event_id", "by", "by_name", "message")
        body = {**body, **{k: clean_text(body[k]) for k in texts if isinstance(body.get(k), str)}}
    return Command(name, body)


def clean_text(text: str) -> str:
    """Text from the platform as it can be stored, sent and spoken: a lone UTF-16 surrogate (valid in
    JSON, not in UTF-8) becomes U+FFFD, so an ack from a platform with a text bug still applies
    whole instead of failing at its commit."""
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _decode(name: str, payload: bytes) -> Any:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cmd/{name}: not JSON (not UTF-8: {exc.reason} at byte {exc.start})") from None
    if not text.strip():
        return {}
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"cmd/{name}: JSON nested {depth} deep; at most {MAX_DEPTH} allowed")
    try:
        body = json.loads(text, parse_constant=no_constant, parse_float=finite_float)
    except RecursionError:  # belt and braces: the depth check above should make this unreachable
        raise ValueError(f"cmd/{name}: JSON nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of more than 4300 digits
        raise ValueError(f"cmd/{name}: not JSON ({str(exc)[:120]})") from None
    bad = _lone_surrogate(body)
    # An ack's texts are cleaned instead (clean_text): help is coming whatever the operator's name holds.
    if bad is not None and name != "ack":
        raise ValueError(f"cmd/{name}: text holds a lone surrogate ({bad}); not valid Unicode")
    return body


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in JSON text, brackets inside strings not counted."""
    outside = _STRING.sub("", text) if '"' in text else text
    depth = deepest = 0
    for match in _BRACKET.finditer(outside):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def no_constant(word: str) -> Any:
    """json.loads parse_constant: NaN/Infinity are refused (they are not JSON and not numbers)."""
    raise ValueError(f"{word} is not a JSON number")


def finite_float(text: str) -> float:
    """json.loads parse_float: 1e999 is refused instead of becoming inf."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range for a number")
    return value


def _lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) that cannot be encoded as UTF-8, escaped; None if all can.
    Depth is bounded by MAX_DEPTH, so the recursion is too."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return ascii(value)[:40]
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _lone_surrogate(item)
        if found is not None:
            return found
    return None


def _short(value: Any) -> str:
    return ascii(value)[:60]


def _name(kind: type | tuple[type, ...]) -> str:
    return kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)


PING_RATE = 10  # cmd/ping answered per second at most; a flood must not become a flood of commits


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class RateLimitedLog:
    """At most `per_minute` lines a minute, then one line saying how many were left out: 10,000
    garbage commands must not become 10,000 lines on the SD card."""

    def __init__(self, logger: logging.Logger, per_minute: int = 20) -> None:
        self.logger = logger
        self.per_minute = per_minute
        self.window = 0.0
        self.count = 0
        self.dropped = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.window >= 60:
            if self.dropped:
                self.logger.warning("... and %d more like it in the last minute (not logged)", self.dropped)
            self.window, self.count, self.dropped = now, 0, 0
        self.count += 1
        if self.count <= self.per_minute:
            self.logger.warning(message, *args)
        else:
            self.dropped += 1
