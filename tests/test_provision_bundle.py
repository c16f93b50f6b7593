"""Provisioning bundle -> hub.toml: the sample works, bad fields are refused by name, secrets stay hidden,
files are written atomically with 0600 and the previous config kept."""

from __future__ import annotations

import argparse
import copy
import json
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.cli import provision as provision_cli
from hub.config import toml_out
from hub.config.loader import load
from hub.provision import writer
from hub.provision.bundle import BundleError, check, pack_text, parse_text
from hub.provision.fields import secret_paths
from hub.provision.schema import render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "bundle.example.json"
PASSWORD = json.loads(EXAMPLE.read_text())["broker"]["password"]
FAKE_PEM = "-----BEGIN CERTIFICATE-----\n" + "A" * 64 + "\n-----END CERTIFICATE-----\n"
FAKE_KEY = "-----BEGIN PRIVATE KEY-----\n" + "B" * 64 + "\n-----END PRIVATE KEY-----\n"


def sample() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def provision(tmp_path: Path, *args: str) -> tuple[int, Path]:
    """`hub provision ARGS` through its own parser (the full CLI is exercised by the e2e tests)."""
    out = tmp_path / "etc" / "hub.toml"
    parser = argparse.ArgumentParser(prog="hub")
    provision_cli.register(parser.add_subparsers())
    parsed = parser.parse_args(
        ["provision", *args, "--config", str(out), "--state-dir", str(tmp_path / "state")]
    )
    return parsed.func(parsed), out


def test_checked_in_schema_matches_the_code() -> None:
    assert (ROOT / "docs/schemas/bundle.json").read_text(encoding="utf-8") == render()


def test_jsonschema_agrees_with_our_validator() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(render())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(sample(), schema)
    bad = sample()
    bad["hardware"]["smoke"] = {"kind": "relay"}  # relay without its pin
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(BundleError, match=r"hardware\.smoke\.pin: 缺少（必填）missing"):
        check(bad)


def test_sample_bundle_provisions_a_config_the_hub_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = provision(tmp_path, "--bundle", str(EXAMPLE))
    assert code == 0
    config = load(out)
    assert config.hub_id == sample()["hub"]["id"]
    assert config["mqtt"]["password"] == PASSWORD
    assert [b["kind"] for b in config["buttons"]] == ["emergency", "health", "service", "family"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert PASSWORD not in capsys.readouterr().out
    record = json.loads(writer.record_path(out).read_text())
    assert record["source"] == "bundle" and record["fitted"]["buttons"][0] == {"pin": 17, "kind": "emergency"}


def test_the_residents_references_go_to_the_context_card(tmp_path: Path) -> None:
    bundle = sample()
    bundle["resident"] = {"address_ref": "B3-1202", "contacts_ref": "C-0042", "notes": "钥匙在门卫室",
                          "motion_room": "客厅"}
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps(bundle, ensure_ascii=False))
    code, out = provision(tmp_path, "--bundle", str(source))
    assert code == 0
    config = load(out)
    assert config["resident"] == {"reference": "", **bundle["resident"]}  # the reference: [hub] resident_ref
    assert config["hub"]["resident_ref"] == bundle["hub"]["resident_ref"]


@pytest.mark.parametrize(("args", "said"), [
    (("--bundle", "bundel.json"),
     "配置包无效 bundle refused: (file): 找不到文件 bundel.json not found: 检查路径 check the path"),
    (("--qr-text", "EHUB1:abc"), "(qr): 二维码读不出 not a readable EHUB1: code"),
    (("--qr-text", "{\"hub\": "), "(json): 格式不对 not valid JSON at line 1"),
])
def test_a_bundle_that_cannot_be_read_is_refused_in_both_languages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, str], said: str) -> None:
    code, out = provision(tmp_path, *args)
    assert code != 0 and not out.exists()
    assert said in capsys.readouterr().err


def test_reprovisioning_keeps_the_previous_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert provision(tmp_path, "--bundle", str(EXAMPLE))[0] == 0
    first = capsys.readouterr().out  # a first config: no backup to speak of
    assert "(mode 0600, 新建 new file)" in first and ".bak" not in first, first
    assert not list(tmp_path.rglob("*.bak"))
    second = sample()
    second["hub"]["resident_ref"] = "R-2024-00999"
    path = tmp_path / "second.json"
    path.write_text(json.dumps(second))
    code, out = provision(tmp_path, "--bundle", str(path))
    assert code == 0
    assert load(out)["hub"]["resident_ref"] == "R-2024-00999"
    day = writer.day_backup(out).name
    assert (f"(mode 0600, 原配置保留为 previous kept as hub.toml.bak; 今天改动前的 before today's changes: {day})"
            in capsys.readouterr().out)
    backup = out.with_name("hub.toml.bak")
    assert tomllib.loads(backup.read_text())["hub"]["resident_ref"] == "R-2024-00871"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    # A third save at the same visit: hub.toml.bak is the second, the day's backup still the first.
    second["hub"]["resident_ref"] = "R-2024-01000"
    path.write_text(json.dumps(second))
    assert provision(tmp_path, "--bundle", str(path))[0] == 0
    assert tomllib.loads(backup.read_text())["hub"]["resident_ref"] == "R-2024-00999"
    before_visit = out.with_name(day)
    assert tomllib.loads(before_visit.read_text())["hub"]["resident_ref"] == "R-2024-00871"  # was lost
    assert stat.S_IMODE(before_visit.stat().st_mode) == 0o600


def test_only_the_last_three_days_backups_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    for day in (1, 2, 3, 4):
        config.with_name(f"hub.toml.bak-2026120{day}").write_text(f"# day {day}\n")
    config.write_text("# today\n")
    writer._keep_day_backup(config, config.read_bytes())
    kept = sorted(p.name for p in tmp_path.glob("hub.toml.bak-*"))
    assert len(kept) == 3 and writer.day_backup(config).name in kept and "hub.toml.bak-20261201" not in kept


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if value is KeyError:
        del data[last]
    else:
        data[last] = value


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("hub", 12345, "hub"),
        ("hub.id", "has/slash", "hub.id"),
        ("hub.id", "demo-0001", "hub.id"),
        ("hub.resident_ref", KeyError, "hub.resident_ref"),
        ("broker.port", 70000, "broker.port"),
        ("broker.port", "8883", "broker.port"),
        ("broker.password", "change-me", "broker.password"),
        ("broker.password", "password", "broker.password"),
        ("broker.password", "demo1234", "broker.password"),
        ("broker.username", KeyError, "broker.password"),
        ("broker.surprise", 1, "broker.surprise"),
        ("hardware.buttons.1.kind", "fire", "hardware.buttons[1].kind"),
        ("hardware.buttons.2.pin", 17, "hardware.buttons[2].pin"),
        ("hardware.buzzer_pin", 17, "hardware.buzzer_pin"),
        ("hardware.buttons", [], "hardware.buttons"),
        ("version", 2, "version"),
        ("resident", {"address_ref": "北京市朝阳区某路1号"}, "resident.address_ref"),  # a reference, not an address
        ("resident", {"phone": "+8613800138000"}, "resident.phone"),
    ],
)
def test_bad_field_is_refused_by_name(
    tmp_path: Path, path: str, value: Any, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = sample()
    _set(bad, path, value)
    with pytest.raises(BundleError) as info:
        check(bad)
    assert info.value.field == named
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    code, out = provision(tmp_path, "--bundle", str(bad_file))
    err = capsys.readouterr().err
    assert code == 2 and named in err and not out.exists()
    assert PASSWORD not in err


def test_a_refused_secret_is_never_shown() -> None:
    bad = sample()
    bad["broker"]["password"] = "x" * 300  # too long: the error must still hide it
    with pytest.raises(BundleError) as info:
        check(bad)
    assert "xxxx" not in str(info.value) and info.value.field == "broker.password"
    assert secret_paths() == {"broker.password", "broker.tls.key_pem"}


def test_tls_material_is_written_beside_the_config(tmp_path: Path) -> None:
    data = sample()
    del data["broker"]["username"], data["broker"]["password"]
    data["broker"]["tls"] = {"ca_pem": FAKE_PEM, "cert_pem": FAKE_PEM, "key_pem": FAKE_KEY}
    path = tmp_path / "tls.json"
    path.write_text(json.dumps(data))
    code, out = provision(tmp_path, "--bundle", str(path))
    assert code == 0
    tls = load(out)["mqtt"]["tls"]
    assert Path(tls["key"]).read_text() == FAKE_KEY
    for key in ("ca", "cert", "key"):
        assert stat.S_IMODE(Path(tls[key]).stat().st_mode) == 0o600
    assert FAKE_KEY not in out.read_text()


def test_no_credentials_at_all_is_refused() -> None:
    data = sample()
    del data["broker"]["username"], data["broker"]["password"]
    with pytest.raises(BundleError, match="no credentials"):
        check(data)


def test_qr_text_forms(tmp_path: Path) -> None:
    data = sample()
    assert parse_text(json.dumps(data)) == data
    packed = pack_text(data)
    assert packed.startswith("EHUB1:") and len(packed) < 1500  # fits one QR code (version 25, level M)
    assert parse_text(packed) == data
    code, out = provision(tmp_path, "--qr-text", packed)
    assert code == 0 and load(out).hub_id == data["hub"]["id"]
    with pytest.raises(BundleError, match=r"\(qr\)"):
        parse_text("EHUB1:not*base64")


def test_the_set_up_pages_qr_link_is_read_too(tmp_path: Path) -> None:
    """The platform's QR code for a unit may be the set-up page's link with the bundle after '#' (docs/install.md
    "Set-up mode"). A photo of it given to `hub provision --qr-image`, or its text to --qr-text or pasted into
    the page, was refused with "格式不对 not valid JSON at line 1 column 1"."""
    data = sample()
    packed = pack_text(data)
    for link in (f"http://10.42.0.1:8080/#{packed}", f"http://10.42.0.1:8080/#{packed.replace(':', '%3A', 1)}"):
        assert parse_text(link) == data
    code, out = provision(tmp_path, "--qr-text", f"http://10.42.0.1:8080/#{packed}")
    assert code == 0 and load(out).hub_id == data["hub"]["id"]


def test_qr_image(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if not (shutil.which("zbarimg") and shutil.which("qrencode")):
        pytest.skip("zbarimg/qrencode not installed (apt-get install zbar-tools qrencode)")
    image = tmp_path / "code.png"
    subprocess.run(["qrencode", "-o", str(image), pack_text(sample())], check=True)
    code, out = provision(tmp_path, "--qr-image", str(image))
    assert code == 0 and load(out).hub_id == sample()["hub"]["id"]


def test_toml_writer_round_trips() -> None:
    data = {
        "a": {
            "s": 'quote " back \\ 中文\n',
            "i": -3,
            "f": 0.5,
            "b": True,
            "l": [1, 2],
            "t": {"x": "y", "n": None},
            "skip": None,
        },
        "arr": [{"k": 1}, {"k": 2}],
    }
    parsed = tomllib.loads(toml_out.dumps(data))
    expected = copy.deepcopy(data)
    del expected["a"]["skip"], expected["a"]["t"]["n"]  # type: ignore[attr-defined]
    assert parsed == expected


def test_provisioned_config_starts_the_simulated_hub(tmp_path: Path) -> None:
    """The acceptance path: sample bundle -> hub.toml -> `hub run --simulate` comes up with it (the
    sample's broker is unreachable here: the hub starts offline, queueing)."""
    from tests.hubproc import running_hub

    code, out = provision(tmp_path, "--bundle", str(EXAMPLE))
    assert code == 0
    assert out.parent == tmp_path / "etc"
    (tmp_path / "etc" / "state").mkdir()  # running_hub watches <config dir>/state for the socket
    text = out.read_text().replace(str(tmp_path / "state"), str(tmp_path / "etc" / "state"))
    out.write_text(text)
    with running_hub(out) as proc:
        assert proc.poll() is None
    log = (out.parent / "hub.log").read_text()
    assert "running" in log and "Traceback" not in log
    assert "event system.provisioned" in log  # queued for the platform on this first start
