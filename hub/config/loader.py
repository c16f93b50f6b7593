"""Load and validate the hub's TOML config at the edge: a bad file stops the hub with a clear message."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.config.keys import Key, Section, did_you_mean
from hub.config.schema import OUTPUTS, all_sections, feature_modules

DEFAULT_PATH = Path("/etc/eldercare-hub/hub.toml")


class ConfigError(Exception):
    """A config problem, worded for the installer who has to fix the file."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"配置错误 config error in {path}: {key}: {problem}")


@dataclass(frozen=True)
class Config:
    path: Path
    data: dict[str, Any]

    def __getitem__(self, section: str) -> Any:
        return self.data[section]

    def get(self, section: str, default: Any = None) -> Any:
        return self.data.get(section, default)

    @property
    def hub_id(self) -> str:
        return str(self.data["hub"]["id"])

    @property
    def state_dir(self) -> Path:
        """Always absolute: a relative [hub] state_dir means the folder beside the config file that names
        it. Read against the working directory it moved with whoever started the hub (`/` under systemd,
        wherever the installer stood in a shell), so one file named two different queues."""
        named = Path(self.data["hub"]["state_dir"])
        if named.is_absolute():
            return named
        return Path(os.path.abspath(self.path.parent / named))

    @property
    def topic_base(self) -> str:
        return f"{self.data['mqtt']['topic_prefix'].rstrip('/')}/{self.hub_id}"


def resolve_path(cli_path: str | None) -> Path:
    """--config wins, then HUB_CONFIG, then the system path."""
    if cli_path:
        return Path(cli_path)
    env = os.environ.get("HUB_CONFIG")
    return Path(env) if env else DEFAULT_PATH


def load(path: Path) -> Config:
    return Config(path, validate(read(path), path))


def read(path: Path) -> dict[str, Any]:
    """The file's TOML as written, not yet validated (`hub run` looks at [mqtt] tls first: the file is
    read once)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "文件不存在 not found：检查 --config 路径 (check the path, or set "
                          "HUB_CONFIG; a unit not yet set up: hub provision)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(file)", f"cannot read: {exc}") from None


def validate(raw: dict[str, Any], path: Path | str = "<config>") -> dict[str, Any]:
    sections = {s.name: s for s in all_sections()}
    for name in raw:
        if name not in sections:
            raise ConfigError(path, name, f"unknown section{did_you_mean(name, sections)}; known: "
                                          f"{', '.join(sorted(sections))}")
    out: dict[str, Any] = {}
    for name, section in sections.items():
        given = raw.get(name)
        if section.many:
            items = section.default_items if given is None else given
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise ConfigError(path, name, f"must be [[{name}]] tables, got {given!r}")
            out[name] = [_table(section, item, f"{name}[{i}]", path) for i, item in enumerate(items)]
        else:
            if given is not None and not isinstance(given, dict):
                raise ConfigError(path, name, f"must be a [{name}] table, got {given!r}")
            out[name] = _table(section, given or {}, name, path)
    _cross_checks(out, path)
    return out


def _table(section: Section, given: dict[str, Any], where: str, path: Path | str) -> dict[str, Any]:
    allowed = set(section.keys) | set(section.sub)
    for key in given:
        if key not in allowed:
            raise ConfigError(path, f"{where}.{key}",
                              f"unknown key{did_you_mean(key, allowed)}; allowed in [{section.name}]: "
                              f"{', '.join(sorted(allowed))}")
    table = {key: _value(spec, given, key, f"{where}.{key}", path) for key, spec in section.keys.items()}
    for sub, keys in section.sub.items():
        value = given.get(sub)
        if value is None:
            table[sub] = None
            continue
        if not isinstance(value, dict):
            raise ConfigError(path, f"{where}.{sub}", f"must be a table like {{ key = ... }}, got {value!r}")
        for key in value:
            if key not in keys:
                raise ConfigError(path, f"{where}.{sub}.{key}",
                                  f"unknown key{did_you_mean(key, keys)}; allowed: {', '.join(sorted(keys))}")
        table[sub] = {k: _value(s, value, k, f"{where}.{sub}.{k}", path) for k, s in keys.items()}
    return table


def _value(spec: Key, given: dict[str, Any], key: str, where: str, path: Path | str) -> Any:
    if key not in given:
        return None if spec.optional else spec.default
    value = given[key]
    kind = spec.type_of()
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int, float)))
    if not ok:
        raise ConfigError(path, where, f"bad value {_show(spec, value)}; allowed: {spec.allowed()}")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(path, where, f"bad value {_show(spec, value)}; allowed: {spec.allowed()}")
    size = len(value) if isinstance(value, str) and spec.min is not None else value
    numeric = isinstance(size, int | float) and not isinstance(size, bool)
    if numeric and ((spec.min is not None and size < spec.min) or (spec.max is not None and size > spec.max)):
        what = "length" if isinstance(value, str) else "value"
        raise ConfigError(path, where, f"{what} out of range {_show(spec, value)}; allowed: {spec.allowed()}")
    problem = spec.rule(value) if spec.rule is not None else ""
    if problem:
        raise ConfigError(path, where, problem)
    return value


def check_key(dotted: str, value: Any) -> Any:
    """Validate one value for the key `section.key` (or `section.sub.key`) the way a whole file is: the
    provisioning wizard checks each answer with it, so the wizard and `hub config check` agree."""
    name, _, rest = dotted.partition(".")
    section = {s.name: s for s in all_sections()}[name]
    sub, _, key = rest.rpartition(".")
    keys = section.sub[sub] if sub else section.keys
    return _value(keys[key], {key: value}, key, dotted, "<answer>")


def _show(spec: Key, value: Any) -> str:
    return "(hidden)" if spec.secret else repr(value)


# The unit's own outputs, which take their pins even when the file does not name them.
OUTPUT_WORDS = {"status_led_pin": ("状态灯", "the status LED"), "buzzer_pin": ("蜂鸣器", "the buzzer")}


def _pin_taken(pin: int, owner: str) -> str:
    return f"GPIO{pin} 已被占用 / GPIO{pin} is already used by {owner}: 请换一个 pick another pin"


def _cross_checks(cfg: dict[str, Any], path: Path | str) -> None:
    pins: dict[int, str] = {}
    for i, button in enumerate(cfg["buttons"]):
        where = f"buttons[{i}].pin"
        if button["pin"] in pins:
            raise ConfigError(path, where, _pin_taken(button["pin"], pins[button["pin"]]))
        pins[button["pin"]] = where
    for key in ("status_led_pin", "buzzer_pin"):
        pin = cfg["outputs"][key]
        if pin in pins:  # said from the side the installer wrote: the output may be on its default pin
            zh, en = OUTPUT_WORDS[key]
            default = " (its default)" if pin == OUTPUTS.keys[key].default else ""
            raise ConfigError(path, pins[pin], f"GPIO{pin} 是{zh}的引脚 / GPIO{pin} is {en}'s pin{default}, "
                              f"[outputs] {key}: 请换一个 pick another pin, or move {en}")
        pins[pin] = f"outputs.{key}"
    for module in feature_modules():
        for pin, key in getattr(module, "used_pins", lambda c: {})(cfg).items():
            if pin in pins:
                raise ConfigError(path, key, _pin_taken(pin, pins[pin]))
            pins[pin] = key
        for key, problem in getattr(module, "check", lambda c: [])(cfg):
            raise ConfigError(path, key, problem)
    mqtt = cfg["mqtt"]
    if (mqtt["username"] is None) != (mqtt["password"] is None):
        raise ConfigError(path, "mqtt.password", "username and password go together; set both or neither")
    tls = mqtt.get("tls")
    if tls and (tls["cert"] is None) != (tls["key"] is None):
        raise ConfigError(path, "mqtt.tls.key", "a client certificate needs its key (cert and key together)")
    if mqtt["reconnect_min_s"] > mqtt["reconnect_max_s"]:
        raise ConfigError(path, "mqtt.reconnect_min_s", "must not exceed mqtt.reconnect_max_s")
