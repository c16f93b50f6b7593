"""`hub ble decode|list|pair`: JSON keys from the issue, exit 1 on malformed values, the BlueZ agent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ble_values import BP_KEYS

from hub.cli import main
from hub.cli.ble import passkey_agent
from sensors.meters.store import MeterStore

ROOT = Path(__file__).resolve().parents[1]


def decode(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["ble", "decode", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else None, err


def test_decode_bp_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = decode(capsys, "bp", "1e b900 7000 8800 e8070506080000 4800 01 0400")
    assert code == 0
    assert list(out) == BP_KEYS
    assert out["timestamp"] == "2024-05-06T08:00:00" and out["status"]["irregular_pulse"] is True


def test_decode_glucose_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = decode(capsys, "glucose", "17 0500 e8070506080000 0000 38c0 12")
    assert code == 0
    assert list(out) == [
        "sequence",
        "timestamp",
        "time_offset_min",
        "concentration",
        "unit",
        "mmol_per_l",
        "type",
        "location",
        "sensor_status",
        "context_follows",
    ]
    assert (out["mmol_per_l"], out["type"], out["location"], out["context_follows"]) == (
        5.6,
        "capillary_plasma",
        "finger",
        True,
    )
    code, out, _ = decode(capsys, "glucose", "0a 0100 e8070506080000 1e00 12 0501")
    assert (
        out["unit"] == "kg/L" and out["mg_per_dl"] == 3000000 and out["sensor_status"]["device_battery_low"]
    )


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("bp", "1e8a00", "diastolic at byte 3"),
        ("glucose", "1b01", "sequence at byte 1"),
        ("racp", "0600", "request_op_code"),
        ("date_time", "e807", "date_time.month at byte 2"),
        ("time", "e807050608091e", "unknown characteristic 'time'"),  # issue 12: no guessing by length
        ("bp", "xyz", "not hex"),
    ],
)
def test_decode_malformed_exits_1(
    capsys: pytest.CaptureFixture[str], kind: str, value: str, says: str
) -> None:
    code, _, err = decode(capsys, kind, value)
    assert code == 1 and says in err and "cannot decode" in err


def test_decode_works_without_dbus_or_the_hub() -> None:
    probe = (
        "import sys; from hub.cli import main; main(['ble','decode','racp','05000300']); "
        "assert not [m for m in sys.modules if m.startswith(('dbus_fast','bleak.backends.bluezdbus'))]"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"op_code": "number_of_stored_records_response", "count": 3}


def test_list_reads_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{tmp_path}"\n', encoding="utf-8")
    assert main(["ble", "list", "--config", str(cfg)]) == 0
    assert "no paired meters" in capsys.readouterr().out
    with MeterStore.in_state_dir(tmp_path) as store:
        store.pair("c0:ff:ee:00:00:02", "glucose", "Meter", datetime(2024, 5, 6, tzinfo=UTC))
        store.set_last_sequence("C0:FF:EE:00:00:02", 12)
    assert main(["ble", "list", "--config", str(cfg), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["address"], row["kind"], row["last_sequence"]) == ("C0:FF:EE:00:00:02", "glucose", 12)


class FakeBus:
    """Stands in for dbus-fast's system bus: records the exported agent and the AgentManager1 calls."""

    def __init__(self, **kwargs: Any) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.exported: dict[str, Any] = {}
        FakeBus.last = self

    async def connect(self) -> FakeBus:
        return self

    def export(self, path: str, iface: Any) -> None:
        self.exported[path] = iface

    async def call(self, message: Any) -> None:
        self.calls.append((message.member, list(message.body)))

    def disconnect(self) -> None:
        self.calls.append(("disconnect", []))

    last: FakeBus


def test_agent_registers_answers_passkey_and_unregisters(monkeypatch: pytest.MonkeyPatch) -> None:
    import dbus_fast.aio

    monkeypatch.setattr(dbus_fast.aio, "MessageBus", FakeBus)

    async def go() -> Any:
        async with passkey_agent("123456"):
            from dbus_fast.service import ServiceInterface

            agent = next(iter(FakeBus.last.exported.values()))
            handlers = {m.name: m.fn for m in ServiceInterface._get_methods(agent)}
            assert handlers["RequestPasskey"](agent, "/org/bluez/hci0/dev_C0") == 123456
            assert handlers["RequestPinCode"](agent, "/org/bluez/hci0/dev_C0") == "123456"
            return agent.introspect()

    intro = asyncio.run(go())
    methods = {m.name: (m.in_signature, m.out_signature) for m in intro.methods}
    assert methods["RequestPasskey"] == ("o", "u") and methods["DisplayPasskey"] == ("ouq", "")
    assert [c[0] for c in FakeBus.last.calls] == [
        "RegisterAgent",
        "RequestDefaultAgent",
        "UnregisterAgent",
        "disconnect",
    ]
    assert FakeBus.last.calls[0][1][1] == "KeyboardDisplay"
