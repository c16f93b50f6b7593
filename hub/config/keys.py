"""Declarative config schema: every key's type, default, allowed range and help text in one place.

Each feature module declares its own section with `Section(...)` and the schema in
`hub.config.schema` collects them; `config/default.toml` and `config/hub.example.toml` are rendered
from it (and a test checks the checked-in copies match), so a default can never drift from the check.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Key:
    default: Any
    help: str
    kind: type | tuple[type, ...] | None = None  # None: the type of the default
    min: float | None = None
    max: float | None = None
    choices: Sequence[Any] | None = None
    optional: bool = False  # may be absent; default is None
    secret: bool = False  # never printed, stored with 0600
    example: Any = None  # shown in hub.example.toml for optional keys
    # A rule beyond type and range, run by the loader (so `hub config check`, the hub at start, remote
    # config and the provisioning wizard all agree): the problem in plain words, or "" when fine.
    rule: Callable[[Any], str] | None = None

    def type_of(self) -> type | tuple[type, ...]:
        if self.kind is not None:
            return self.kind
        if isinstance(self.default, bool):
            return bool
        if isinstance(self.default, int):
            return int
        if isinstance(self.default, float):
            return (int, float)
        if isinstance(self.default, str):
            return str
        if isinstance(self.default, list):
            return list
        if isinstance(self.default, dict):
            return dict
        raise TypeError(f"key needs an explicit kind: {self!r}")

    def allowed(self) -> str:
        parts = [_type_name(self.type_of())]
        if self.choices is not None:
            parts = ["one of " + ", ".join(repr(c) for c in self.choices)]
        if self.min is not None and self.max is not None:
            parts.append(f"from {self.min} to {self.max}")
        elif self.min is not None:
            parts.append(f">= {self.min}")
        elif self.max is not None:
            parts.append(f"<= {self.max}")
        return " ".join(parts)


def spoken_room(value: Any) -> str:
    """A rule for a room the resident hears inside a sentence ("厨房检测到烟雾，…报警已发送到社区"):
    Chinese characters only, so it names a place and nothing more. A remote config or a bundle could
    otherwise end her sentence and start another ("。报警已取消"), or put Latin letters espeak-ng spells out."""
    if isinstance(value, str) and not re.fullmatch(r"[\u4e00-\u9fff]*", value):
        return f"房间名只能用汉字，如 厨房 / a room name in Chinese characters only (e.g. 厨房), got {value[:24]!r}"
    return ""


@dataclass(frozen=True)
class Section:
    """A `[name]` table, or with `many=True` an `[[name]]` array of tables."""

    name: str
    help: str
    keys: dict[str, Key]
    many: bool = False
    default_items: list[dict[str, Any]] = field(default_factory=list)
    sub: dict[str, dict[str, Key]] = field(default_factory=dict)  # inline tables, e.g. mqtt.tls


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table"}
    if isinstance(t, tuple):
        if set(t) == {int, float}:
            return "a number"
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, t.__name__)


def hhmm_problem(text: Any) -> str:
    """The rule of every HH:MM key (a time of day, local): '' when fine, else the problem in plain words."""
    h, sep, m = text.partition(":") if isinstance(text, str) else ("", "", "")
    ok = bool(sep) and h.isdigit() and m.isdigit() and len(h) == 2 and len(m) == 2 and int(h) < 24 and int(m) < 60
    return "" if ok else f"{text!r} is not a time HH:MM (00:00-23:59)"


def did_you_mean(name: object, known: Iterable[object]) -> str:
    """A misspelt key or section ('prot', 'mqqt', 'roome'): the one it most likely meant, for the installer."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (是不是 did you mean {close[0]!r}?)" if close else ""
