"""hub.core.components.GATES keeps optional parts' modules out of memory when nothing turns them on.
A gate must name real config keys, and must never rule out a part its own factory would build."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest

from hub.config.loader import Config, validate
from hub.core.components import FACTORIES, GATES, _gated_off
from hub.core.context import Hardware


def _config(tmp_path: Path, raw: dict) -> Config:
    return Config(tmp_path / "hub.toml", validate({"hub": {"state_dir": str(tmp_path / "state")}, **raw}))


@pytest.mark.parametrize("spec", sorted(GATES))
def test_each_gate_names_a_factory_and_keys_the_schema_has(tmp_path: Path, spec: str) -> None:
    assert spec in FACTORIES
    defaults = _config(tmp_path, {})
    for section, name in GATES[spec]:
        assert name in defaults.get(section), f"{spec}: gate key {section}.{name} is not in the config schema"


@pytest.mark.parametrize("spec", sorted(GATES))
def test_a_gated_off_part_is_one_its_factory_would_not_build(tmp_path: Path, spec: str) -> None:
    config = _config(tmp_path, {})
    assert _gated_off(spec, config)
    module, func = spec.split(":")
    hardware = Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=lambda *a, **k: None, simulated=True)
    assert getattr(import_module(module), func)(config, hardware) is None


@pytest.mark.parametrize(("raw", "spec"), [
    ({"modem": {"port": "/dev/ttyUSB2"}}, "hub.cellular.component:build"),
    ({"voice_call": {"account": "sip:hub-1@pbx.example.org", "password": "x"}}, "hub.voicecall.component:build"),
    ({"homeassistant": {"enabled": True}}, "hub.homeassistant.component:build"),
])
def test_a_part_turned_on_is_not_gated(tmp_path: Path, raw: dict, spec: str) -> None:
    assert not _gated_off(spec, _config(tmp_path, raw))


def test_build_all_imports_every_ungated_module_and_no_gated_one(tmp_path: Path, monkeypatch) -> None:
    import hub.core.components as components

    imported: list[str] = []

    class Module:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return lambda config, hardware: None

    def record(name: str) -> Module:
        imported.append(name)
        return Module()

    monkeypatch.setattr(components, "import_module", record)
    hardware = Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=lambda *a, **k: None)
    assert components.build_all(_config(tmp_path, {}), hardware) == []
    gated = {spec.split(":")[0] for spec in GATES}
    assert imported == [spec.split(":")[0] for spec in FACTORIES if spec.split(":")[0] not in gated]
    imported.clear()
    components.build_all(_config(tmp_path, {"modem": {"port": "/dev/ttyUSB2"}}), hardware)
    assert {"hub.cellular.sim", "hub.cellular.component"} <= set(imported)
    assert "hub.homeassistant.component" not in imported


def test_a_simulated_board_without_fall_parts_or_meters_loads_no_ble_stack(tmp_path: Path) -> None:
    """The simulated board has what its config names (issue 23: RSS without a wearable): with the
    default config and no meter paired, building every component imports neither bleak, the virtual
    radio, pyserial nor the fall path (a fresh interpreter: the question is what a process has loaded)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from hub.config.loader import Config, validate
        from hub.core.components import build_all
        from hub.core.simulation import simulated_hardware
        config = Config(Path("hub.toml"), validate({{"hub": {{"state_dir": {str(tmp_path / "state")!r}}}}}))
        names = [c.name for c in build_all(config, simulated_hardware())]
        heavy = ("bleak", "serial", "drivers.ble.virtual", "hub.detect.fall.component", "sensors.meters.coordinator",
                 "drivers.sip")
        print(names)
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    names, loaded = out.stdout.splitlines()[-2:]
    assert "'health'" in names and "'sim.ble'" in names and "'fall'" not in names, names
    assert loaded == "[]", loaded
