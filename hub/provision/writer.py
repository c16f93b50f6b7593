"""Turn a checked bundle into hub.toml (plus TLS files) and write it the way an SD card needs.

Each file: write a temp file in the same directory (mode 0600 from the start), fsync, rename over the
old one, fsync the directory, so a power cut leaves the old or the new file, never half of one. The
previous config is kept as `hub.toml.bak`, and the one before the day's first write as
`hub.toml.bak-YYYYMMDD` (the last three days kept), so a second save at one visit keeps the config from
before it. Files are chowned to the service user when it exists and we
run as root. Nothing here prints or logs a secret.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hub.config import toml_out
from hub.config.loader import ConfigError, validate
from hub.config.schema import all_sections
from hub.core.events import now_local
from hub.core.files import atomic_write
from hub.provision.bundle import BundleError

DEFAULT_STATE_DIR = "/var/lib/eldercare-hub"

# Fitted hardware -> config sections. Each mapper returns {section: table} using only keys the running
# software's schema declares; a part with no section in this version is refused rather than dropped.
HardwareMapper = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Rendered:
    config: dict[str, Any]
    files: dict[Path, bytes] = field(default_factory=dict)  # TLS material beside the config
    fitted: dict[str, Any] = field(default_factory=dict)  # what system.provisioned reports


def render(bundle: dict[str, Any], config_path: Path, state_dir: str = DEFAULT_STATE_DIR) -> Rendered:
    hub = bundle["hub"]
    broker = bundle["broker"]
    hw = bundle["hardware"]
    out = Rendered(config={})
    hub_table: dict[str, Any] = {
        "id": hub["id"],
        "state_dir": state_dir,
        "resident_ref": hub["resident_ref"],
        "community_ref": hub["community_ref"],
    }
    if "timezone" in hub:
        hub_table["timezone"] = hub["timezone"]
    mqtt: dict[str, Any] = {"host": broker["host"], "port": broker["port"]}
    for key in ("topic_prefix", "username", "password"):
        if key in broker:
            mqtt[key] = broker[key]
    if "tls" in broker:
        tls: dict[str, Any] = {}
        for key, name, conf_key in (
            ("ca_pem", "ca.pem", "ca"),
            ("cert_pem", "client.pem", "cert"),
            ("key_pem", "client.key", "key"),
        ):
            if key in broker["tls"]:
                target = config_path.parent / name
                out.files[target] = (
                    broker["tls"][key].encode("ascii", "strict")
                    if broker["tls"][key].isascii()
                    else _refuse_pem(key)
                )
                tls[conf_key] = str(target)
        tls["insecure"] = False
        mqtt["tls"] = tls
    out.config = {"hub": hub_table, "mqtt": mqtt}
    if bundle.get("resident"):  # the alarm context card's references (hub.alarms.card)
        out.config["resident"] = dict(bundle["resident"])
    if bundle.get("voice"):
        from hub.config.environment import voice_problem

        problem = voice_problem(bundle["voice"].get("espeak_voice", "auto"))
        if problem:  # the hub would speak with another voice: say so now, not in its journal later
            raise BundleError("voice.espeak_voice", problem)
        out.config["voice"] = dict(bundle["voice"])
    out.config["buttons"] = [{k: b[k] for k in ("pin", "kind", "led_pin") if k in b} for b in hw["buttons"]]
    outputs = {k: hw[k] for k in ("status_led_pin", "buzzer_pin") if k in hw}
    if outputs:
        out.config["outputs"] = outputs
    out.fitted = {"buttons": [{"pin": b["pin"], "kind": b["kind"]} for b in hw["buttons"]]}
    if bundle.get("triggers"):  # wireless pendants and pull cords (hub.triggers); the keys stay in the config
        out.config["triggers"] = [dict(t) for t in bundle["triggers"]]
        out.fitted["triggers"] = [{"id": t["id"], "room": t["room"]} for t in bundle["triggers"]]
    for part in hw:
        if part not in ("buttons", "status_led_pin", "buzzer_pin", "low_battery_pin") and part not in MAPPERS:
            raise BundleError(
                f"hardware.{part}",
                "this hub software has no config for this part yet; update the hub software first",
            )
    for part, mapper in MAPPERS.items():
        if part in hw and not _has_sections(part):
            raise BundleError(f"hardware.{part}", "this hub software has no config for this part")
        if _has_sections(part):
            for section, table in mapper(hw).items():
                out.config.setdefault(section, {}).update(table)
        if part in hw:
            out.fitted[part] = hw[part]
    try:
        validate(out.config, config_path)
    except ConfigError as exc:  # the bundle passed its schema but the hub's own check disagrees
        raise BundleError(_bundle_field(exc.key), exc.problem) from None
    return out


def _refuse_pem(key: str) -> bytes:
    raise BundleError(f"broker.tls.{key}", "PEM text must be plain ASCII")


def _bundle_field(config_key: str) -> str:
    """Name the bundle field behind a config key, so the installer fixes the right thing."""
    head, _, rest = config_key.partition(".")
    if head in ("motion", "smoke", "temperature", "power", "fall"):
        return {"motion": "hardware.pir", "power": "hardware.power_good_pin", "fall": "hardware.radar"}.get(
            head, f"hardware.{head}"
        )
    return {"mqtt": "broker", "buttons": "hardware.buttons", "outputs": "hardware"}.get(head, head) + (
        f".{rest}" if rest else ""
    )


# Each mapper writes its part's section whether fitted or not: the sensor defaults describe the full
# standard kit, so an absent part must be written as absent (fitted = false, kind/part = "none").


def _motion(hw: dict[str, Any]) -> dict[str, Any]:
    pir = hw.get("pir")
    return {"motion": {"fitted": True, "pin": pir["pin"]} if pir else {"fitted": False}}


def _smoke(hw: dict[str, Any]) -> dict[str, Any]:
    smoke = hw.get("smoke")
    if smoke is None:
        return {"smoke": {"kind": "none"}}
    table: dict[str, Any] = {"kind": smoke["kind"]}
    if smoke["kind"] == "relay":
        table["relay_pin"] = smoke["pin"]
        for src, dst in (("active_low", "relay_active_low"), ("trouble_pin", "trouble_pin")):
            if src in smoke:
                table[dst] = smoke[src]
    else:
        for src, dst in (("address", "adc_address"), ("channel", "adc_channel")):
            if src in smoke:
                table[dst] = smoke[src]
    return {"smoke": table}


def _temperature(hw: dict[str, Any]) -> dict[str, Any]:
    temp = hw.get("temperature")
    if temp is None:
        return {"temperature": {"part": "none"}}
    return {
        "temperature": {"part": temp["part"], **({"address": temp["address"]} if "address" in temp else {})}
    }


def _power(hw: dict[str, Any]) -> dict[str, Any]:
    if "power_good_pin" not in hw:
        return {"power": {"fitted": False}}
    table = {"fitted": True, "good_pin": hw["power_good_pin"]}
    if "low_battery_pin" in hw:
        table["low_battery_pin"] = hw["low_battery_pin"]
    return {"power": table}


def _radar(hw: dict[str, Any]) -> dict[str, Any]:
    radar = hw.get("radar")
    if radar is None:
        return {"fall": {"radar_port": ""}}
    return {
        "fall": {
            "radar_port": radar["port"],
            **({"radar_baud": radar["baudrate"]} if "baudrate" in radar else {}),
        }
    }


def _modem(hw: dict[str, Any]) -> dict[str, Any]:
    modem = hw.get("modem")
    if modem is None:
        return {"modem": {}}
    return {
        "modem": {
            "port": modem["port"],
            **{k: modem[k] for k in ("baudrate", "sms_numbers") if k in modem},
        }
    }


# bundle hardware part -> (config sections it needs, mapper)
HARDWARE: dict[str, tuple[tuple[str, ...], HardwareMapper]] = {
    "pir": (("motion",), _motion),
    "smoke": (("smoke",), _smoke),
    "temperature": (("temperature",), _temperature),
    "power_good_pin": (("power",), _power),
    "radar": (("fall",), _radar),
    "modem": (("modem",), _modem),
}
MAPPERS: dict[str, HardwareMapper] = {part: mapper for part, (_, mapper) in HARDWARE.items()}


def _has_sections(part: str) -> bool:
    names = {s.name for s in all_sections()}
    return all(section in names for section in HARDWARE[part][0])


DAY_BACKUPS_KEPT = 3


def day_backup(config_path: Path, today: date | None = None) -> Path:
    """The config as it was before the first write of a day (`hub.toml.bak-YYYYMMDD`): a second save on the
    set-up page, or the wizard run twice at one visit, replaces `hub.toml.bak` with the first save, and the
    config from before the visit would be gone."""
    return config_path.with_name(f"{config_path.name}.bak-{(today or now_local().date()):%Y%m%d}")


def kept_words(config_path: Path, replaced: bool) -> str:
    """What the installer is told of the file just written: a backup only when there was a config before."""
    if replaced:
        return (f"0600, 原配置保留为 previous kept as {config_path.name}.bak; "
                f"今天改动前的 before today's changes: {day_backup(config_path).name}")
    return "0600, 新建 new file"


def _keep_day_backup(config_path: Path, old: bytes) -> None:
    first = day_backup(config_path)
    if first.exists():
        return  # today's first write kept it already: that is the config from before the visit
    atomic_write(first, old)
    days = sorted(config_path.parent.glob(f"{config_path.name}.bak-[0-9]*"))
    for stale in days[:-DAY_BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)


def write(rendered: Rendered, config_path: Path) -> list[Path]:
    """Write the TLS files then the config (so the config never names a file not yet there)."""
    written: list[Path] = []
    config_path.parent.mkdir(parents=True, exist_ok=True)
    for path, content in rendered.files.items():
        atomic_write(path, content)
        written.append(path)
    if config_path.exists():
        old = config_path.read_bytes()
        _keep_day_backup(config_path, old)
        atomic_write(config_path.with_name(config_path.name + ".bak"), old)
    text = "# Written by `hub provision`; edit with care, keep mode 0600 (it holds credentials).\n"
    text += toml_out.dumps(rendered.config)
    atomic_write(config_path, text.encode("utf-8"))
    written.append(config_path)
    return written


def record_path(config_path: Path) -> Path:
    """Where provisioning leaves its report for the hub to publish as system.provisioned on start."""
    return config_path.with_name("provisioned.json")


def write_record(
    config_path: Path, source: str, fitted: dict[str, Any], live_check: list[dict[str, Any]] | None
) -> dict[str, Any]:
    record = {
        "id": str(uuid.uuid4()),
        "provisioned_at": now_local().isoformat(timespec="seconds"),
        "source": source,
        "fitted": fitted,
        "live_check": live_check,
    }
    atomic_write(record_path(config_path), (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode())
    return record


def install_bundle(bundle: Path, config_path: Path, state_dir: str, at: Callable[[Path], Path]) -> None:
    """`hub install --bundle F`: the config (and its certificate files) from a platform bundle, written under
    the install root that `at` maps each path into."""
    from hub.provision import bundle as bundle_mod

    data = bundle_mod.load_file(bundle)
    rendered = render(data, config_path, state_dir)
    rendered.files = {at(p): c for p, c in rendered.files.items()}
    target = at(config_path)
    write(rendered, target)
    write_record(target, "bundle", rendered.fitted, None)
