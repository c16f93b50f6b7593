"""The prompt catalogue: every sentence the hub says, in Mandarin and English, in voice/prompts.toml."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Prompt:
    key: str
    zh: str
    en: str
    sample: dict[str, Any] = field(default_factory=dict)  # field values `hub voice check` and the tests render

    def text(self, language: str, **fields: Any) -> str:
        template = self.zh if language == "zh" else self.en
        return template.format(**fields) if fields else template

    @property
    def has_fields(self) -> bool:
        return bool(fields_of(self))


class UnknownPrompt(KeyError):
    pass


@cache
def catalogue() -> dict[str, Prompt]:
    raw = tomllib.loads(resources.files("voice").joinpath("prompts.toml").read_text(encoding="utf-8"))
    out: dict[str, Prompt] = {}
    for key, entry in raw.items():
        zh, en, sample = entry.get("zh"), entry.get("en"), entry.get("sample", {})
        if not isinstance(zh, str) or not isinstance(en, str):
            raise ValueError(f"voice/prompts.toml: [{key}] needs both zh and en strings")
        if not isinstance(sample, dict):
            raise ValueError(f"voice/prompts.toml: [{key}] sample must be a table of field values")
        out[key] = Prompt(key, zh, en, sample)
    return out


def prompt(key: str) -> Prompt:
    try:
        return catalogue()[key]
    except KeyError:
        raise UnknownPrompt(f"no prompt {key!r} in voice/prompts.toml") from None


def fields_of(p: Prompt) -> set[str]:
    names: set[str] = set()
    for template in (p.zh, p.en):
        names |= {f for _, f, _, _ in string.Formatter().parse(template) if f}
    return names
