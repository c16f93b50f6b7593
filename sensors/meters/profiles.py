"""Quirk profiles: what a meter says about itself -> the deviations from the spec the hub corrects.

The table is data (`sensors/meters/profiles.toml`, plus `[ble] extra_profiles` from the installer,
checked first); this module loads and validates it (an unknown key or value stops with the file, the
entry and the allowed values) and picks the entry for one connection. `SPEC` is what an unknown meter
gets: the Bluetooth SIG formats, nothing corrected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN = Path(__file__).with_name("profiles.toml")
BIG_ENDIAN_FIELDS = {
    "bp": {"systolic", "diastolic", "mean_arterial", "pulse", "status"},
    "glucose": {"sequence", "time_offset", "concentration", "sensor_status"},
}
INFERABLE = {"bp": {"user_id"}, "glucose": set[str]()}
RACP_FORMS = ("from_sequence", "all", "first", "last")
TIME_BASES = ("local", "local_ignore_offset", "utc")
CLOCKS = ("current_time", "date_time", "none")
KINDS = ("bp", "glucose")
MATCH_KEYS = ("manufacturer", "model", "name", "feature")
_KEYS = {"id", "kind", "match", "big_endian", "infer_from_length", "racp", "time_base", "clock",
         "numbers_backwards", "ketone_meal_code", "source", "note"}


@dataclass(frozen=True)
class Identity:
    """What the meter says about itself on one connection ("" / None when it does not say)."""

    name: str = ""
    manufacturer: str = ""
    model: str = ""
    feature: int | None = None


@dataclass(frozen=True)
class Profile:
    id: str = "spec"
    kind: str = ""
    match: dict[str, Any] = field(default_factory=dict)
    big_endian: frozenset[str] = frozenset()
    infer_from_length: frozenset[str] = frozenset()
    racp: tuple[str, ...] = ("from_sequence", "all")
    time_base: str = "local"
    clock: str = "current_time"
    numbers_backwards: bool = False
    ketone_meal_code: int | None = None
    source: str = "Bluetooth SIG BLS 1.1.1 / GLS 1.0.1"
    note: str = ""

    def fits(self, kind: str, who: Identity) -> bool:
        if self.kind and self.kind != kind:
            return False
        for key, want in self.match.items():
            if key == "feature":
                if who.feature is None or who.feature & want != want:
                    return False
                continue
            have = str(getattr(who, key)).casefold()
            if not any(have.startswith(str(w).casefold()) for w in want):
                return False
        return bool(self.match)


SPEC = Profile()


class ProfileError(ValueError):
    pass


def _entry(raw: dict[str, Any], where: str) -> Profile:
    def bad(key: str, problem: str) -> ProfileError:
        return ProfileError(f"{where}: {key}: {problem}")

    unknown = set(raw) - _KEYS
    if unknown:
        raise bad(", ".join(sorted(unknown)), f"unknown key(s); allowed: {', '.join(sorted(_KEYS))}")
    for key in ("id", "kind", "match", "source"):
        if key not in raw:
            raise bad(key, "missing (every profile names its id, kind, match and source)")
    kind = raw["kind"]
    if kind not in KINDS:
        raise bad("kind", f"{kind!r} is not one of {KINDS}")
    match = raw["match"]
    if not isinstance(match, dict) or not match or set(match) - set(MATCH_KEYS):
        raise bad("match", f"a table with one or more of {MATCH_KEYS}")
    for key, value in match.items():
        if key == "feature" and not isinstance(value, int):
            raise bad("match.feature", "an integer: feature bits that must be set")
        if key != "feature" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise bad(f"match.{key}", "a list of name prefixes, e.g. [\"BM85\"]")
    big = frozenset(raw.get("big_endian", []))
    if big - BIG_ENDIAN_FIELDS[kind]:
        raise bad("big_endian", f"{sorted(big)}: {kind} fields are {sorted(BIG_ENDIAN_FIELDS[kind])}")
    infer = frozenset(raw.get("infer_from_length", []))
    if infer - INFERABLE[kind]:
        raise bad("infer_from_length", f"{sorted(infer)}: inferable for {kind}: {sorted(INFERABLE[kind])}")
    racp = tuple(raw.get("racp", SPEC.racp))
    if not racp or set(racp) - set(RACP_FORMS):
        raise bad("racp", f"{list(racp)}: forms are {RACP_FORMS}")
    for key, allowed in (("time_base", TIME_BASES), ("clock", CLOCKS)):
        if raw.get(key, getattr(SPEC, key)) not in allowed:
            raise bad(key, f"{raw[key]!r} is not one of {allowed}")
    meal = raw.get("ketone_meal_code")
    if meal is not None and not (isinstance(meal, int) and 0 <= meal <= 15):
        raise bad("ketone_meal_code", f"{meal!r}: a meal code 0..15")
    return Profile(
        id=str(raw["id"]),
        kind=kind,
        match=dict(match),
        big_endian=big,
        infer_from_length=infer,
        racp=racp,
        time_base=raw.get("time_base", SPEC.time_base),
        clock=raw.get("clock", SPEC.clock),
        numbers_backwards=bool(raw.get("numbers_backwards", False)),
        ketone_meal_code=meal,
        source=str(raw["source"]),
        note=str(raw.get("note", "")),
    )


def load(path: Path) -> list[Profile]:
    """The entries of one profile file, validated. Raises ProfileError naming file, entry and key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: {exc}") from None
    entries = doc.get("profile", [])
    if set(doc) - {"profile"} or not isinstance(entries, list):
        raise ProfileError(f"{path}: expected only [[profile]] entries")
    return [_entry(e, f"{path} [[profile]] #{i + 1} ({e.get('id', '?')})") for i, e in enumerate(entries)]


def table(extra: Path | None = None) -> list[Profile]:
    """The installer's entries (checked first), then the built-in ones."""
    return [*(load(extra) if extra else []), *load(BUILTIN)]


def choose(profiles: Sequence[Profile], kind: str, who: Identity) -> Profile:
    return next((p for p in profiles if p.fits(kind, who)), SPEC)
