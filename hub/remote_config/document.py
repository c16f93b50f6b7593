"""The desired document and what it would change, without touching anything.

`{"version": N, "config": {...}}`: `config` is a JSON Merge Patch (RFC 7386) of hub.toml: tables merge
key by key, `null` removes a key (back to its default), anything else — arrays of tables such as
`buttons` included — replaces. The merged file is checked by the very validator `hub run` uses
(hub.config.loader.validate), so a refusal names the key, the value and what is allowed in the same words.
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config.environment import check_environment
from hub.config.loader import Config, ConfigError, validate
from hub.config.schema import all_sections
from hub.core.platform_commands import finite_float, no_constant
from hub.remote_config.allowlist import CONFIRM, NEVER, classify

HIDDEN = "(hidden)"  # what a secret's value is reported as (as the loader shows it in errors)

# Keys that move the hub to another broker, or change how it logs in there: confirmed only by the
# broker proof (component: the hub's probe comes back through the new broker and the platform acks it).
BROKER = frozenset({"mqtt.host", "mqtt.port", "mqtt.username", "mqtt.password"})

# Keys the running code reads at each use from the shared config tables, so setting them in place takes
# effect at once (tests/test_remote_config_e2e.py checks calls.ack_timeout_s end to end). Anything else
# is read at start-up (components cache it, the uplink connects with it): a clean restart applies it.
LIVE = frozenset({
    "hub.log_level",
    "calls.guard_s", "calls.ack_timeout_s", "calls.reannounce_s", "calls.reannounce_count",
    "calls.reannounce_slow_s",
    "mqtt.status_interval_s", "mqtt.max_payload_bytes",
})


class Refusal(Exception):
    """The document cannot be applied; `key` names what is wrong ('(document)' for its shape)."""

    def __init__(self, version: int | None, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.version, self.key, self.reason = version, key, reason


@dataclass(frozen=True)
class Desired:
    version: int
    config: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    version: int
    merged: dict[str, Any]  # the file's tables after the patch: what is written
    effective: dict[str, Any]  # validated, with every default: what the hub will run with
    changed: list[str]  # dotted keys whose effective value changes ('buttons' for a whole array)
    confirm: list[str] = field(default_factory=list)  # of those, the wiring a technician must confirm

    @property
    def live(self) -> bool:
        return all(key in LIVE for key in self.changed)

    @property
    def broker(self) -> bool:
        return any(key in BROKER for key in self.changed)


def parse(payload: bytes, max_bytes: int) -> Desired:
    if len(payload) > max_bytes:
        raise Refusal(None, "(document)", f"{len(payload)} bytes, more than [remote_config] max_bytes = {max_bytes}")
    try:
        body = json.loads(payload.decode("utf-8"), parse_constant=no_constant, parse_float=finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refusal(None, "(document)", f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(body, dict):
        raise Refusal(None, "(document)", f'must be a JSON object {{"version": N, "config": {{...}}}}, '
                                          f"got {type(body).__name__}")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**53:
        raise Refusal(None, "version", f"must be a whole number from 1 up, got {_short(version)}")
    config = body.get("config")
    if not isinstance(config, dict):
        raise Refusal(version, "config", f"must be an object of config tables, got {_short(config)}")
    bad = _lone_surrogate(config, "")
    if bad is not None:
        raise Refusal(version, bad, "holds a lone UTF-16 surrogate (not text)")
    return Desired(version, config)


def plan(raw_file: dict[str, Any], current: dict[str, Any], desired: Desired, path: Path | str) -> Plan:
    """What `desired` does to the file whose tables are `raw_file`, for a hub running `current`."""
    merged = merge_patch(raw_file, desired.config)
    try:
        effective = validate(merged, path)
    except ConfigError as exc:
        raise Refusal(desired.version, exc.key, exc.problem) from None
    changed = diff(current, effective)
    confirm = []
    for key in changed:
        kind, reason = classify(key)
        if kind == NEVER:
            raise Refusal(desired.version, key, f"cannot be changed remotely: {reason} (a technician sets it "
                                                f"on the unit: `hub provision` or hub.toml)")
        if kind == CONFIRM:
            confirm.append(key)
    return Plan(desired.version, merged, effective, changed, confirm)


def report(config: Config, version: int | None, result: str, applied_version: int, changed: list[str], ts: str,
           reason: str = "", key: str = "") -> dict[str, Any]:
    """The `config/reported` document (docs/schemas/config.reported.json): never a secret's value."""
    body: dict[str, Any] = {"hub": config.hub_id, "version": version, "result": result,
                            "applied_version": applied_version, "changed": changed,
                            "config": redact(config.data), "ts": ts}
    if reason:
        body["reason"] = reason
    if key:
        body["key"] = key
    return body


def plan_file(config: Config, desired: Desired) -> Plan:
    """`plan` for the hub running `config`, merged into its file as it is on disk; refused too when a
    file the result names is missing (`hub run` would stop with exit 2 on it, and systemd would not
    restart it). Reads files: call it off the loop."""
    result = plan(tomllib.loads(config.path.read_text(encoding="utf-8")), config.data, desired, config.path)
    for problem in check_environment(Config(config.path, result.effective), create=False):
        if problem.fatal:
            raise Refusal(desired.version, problem.key, f"{problem.problem} ({problem.remedy})")
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch; returns a new object, `target` is left alone."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ; a sub-table (mqtt.tls) is compared key by key."""
    changed: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += diff(a, b, f"{prefix}{key}.")
        elif a != b or type(a) is not type(b):
            changed.append(f"{prefix}{key}")
    return changed


def redact(effective: dict[str, Any]) -> dict[str, Any]:
    """The effective config with every secret key's value hidden (whatever section declares it)."""
    out = copy.deepcopy(effective)
    for section in all_sections():
        tables = out.get(section.name)
        for table in tables if isinstance(tables, list) else [tables]:
            if not isinstance(table, dict):
                continue
            _hide(table, section.keys)
            for sub, keys in section.sub.items():
                if isinstance(table.get(sub), dict):
                    _hide(table[sub], keys)
    return out


def secret_keys() -> set[str]:
    """Dotted names of every secret key (for logs: a changed secret is named, never shown)."""
    names: set[str] = set()
    for section in all_sections():
        names |= {f"{section.name}.{k}" for k, spec in section.keys.items() if spec.secret}
        for sub, keys in section.sub.items():
            names |= {f"{section.name}.{sub}.{k}" for k, spec in keys.items() if spec.secret}
    return names


def _hide(table: dict[str, Any], keys: dict[str, Any]) -> None:
    for name, spec in keys.items():
        if spec.secret and table.get(name) is not None:
            table[name] = HIDDEN


def _lone_surrogate(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "config"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _lone_surrogate(key, where) is not None:
            return where or "config"
        found = _lone_surrogate(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
