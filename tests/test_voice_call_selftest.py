"""`hub selftest --only sip`: baresip present, echo cancellation, and the SIP registration — by a
one-off baresip on a stopped hub, from the running hub's own baresip otherwise. The server is a real
registrar (kamailio on loopback, digest authentication), or a loopback TCP port nobody listens on, so
a registration fails at once with the network's words."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sipparty import need_baresip
from sipserver import Registrar
from support import wait_until

from drivers.sip.agent import free_sip_port
from drivers.sip.setup import echo_cancel_available, find_module_dir
from hub.config.loader import load
from hub.core.context import Hardware
from hub.selftest.links import check_sip
from hub.selftest.model import Env
from tests.hubproc import broker, hub_cli, running_hub, write_config
from tests.support import free_port

pytestmark = pytest.mark.timeout(120)


def sip_rows(cfg: Path) -> dict[str, dict[str, Any]]:
    """The check as a stopped hub runs it (`hub selftest` on the unit itself, which a PC without GPIO
    cannot run whole): only the config and baresip are involved."""
    env = Env(load(cfg), Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=lambda *a, **k: None))
    return {row.check: row.as_dict() for row in asyncio.run(check_sip(env, owned=False))}


def running_hub_rows(cfg: Path) -> dict[str, dict[str, Any]]:
    """Through the running hub's control socket, as a technician's `hub selftest` does."""
    r = hub_cli("selftest", "--simulate", "--non-interactive", "--json", "--only", "sip", "--config", str(cfg))
    report = json.loads(r.stdout)
    return {row["check"]: row for row in report["results"] if row["component"] == "sip"}


def account(dead_port: int, **keys: object) -> str:
    text = f'\n[voice_call]\naccount = "sip:hub@127.0.0.1:{dead_port};transport=tcp"\npassword = "secret"\n'
    text += f'listen = "127.0.0.1:{free_sip_port()}"\n'
    return text + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())


def test_stopped_hub_registers_once_and_names_the_network_problem(tmp_path):
    need_baresip()
    cfg = write_config(tmp_path, free_port(), "t-sip", account(free_port()))
    rows = sip_rows(cfg)
    assert rows["baresip installed"]["result"] == "pass"
    registration = rows["registration"]
    assert registration["result"] == "fail" and "Connection refused" in registration["value"], rows
    assert "SIP" in registration["remedy"] and "outbound" in registration["remedy"]
    aec = rows.get("echo cancellation")
    assert (aec is None) == echo_cancel_available(find_module_dir())
    if aec is not None:
        assert aec["result"] == "fail" and "echo_cancel = false" in aec["remedy"]


def test_running_hub_reports_its_own_registration(tmp_path):
    need_baresip()
    with broker(tmp_path) as port:
        cfg = write_config(tmp_path, port, "t-sip", account(free_port(), echo_cancel=False))
        with running_hub(cfg):
            wait_until((tmp_path / "state" / "sip" / "registration.json").exists, 15, "registration.json")
            rows = running_hub_rows(cfg)
    assert "echo cancellation" not in rows
    assert rows["registration"]["result"] == "fail", rows
    assert "Connection refused" in rows["registration"]["value"]


def test_missing_baresip_fails_with_the_install_command(tmp_path):
    cfg = write_config(tmp_path, free_port(), "t-sip", account(free_port(), baresip="/nonexistent/baresip"))
    rows = sip_rows(cfg)
    assert list(rows) == ["baresip installed"]
    assert rows["baresip installed"]["result"] == "fail"
    assert "apt-get install baresip-core" in rows["baresip installed"]["remedy"]


def test_direct_calls_need_no_registration_and_no_account_no_rows(tmp_path):
    need_baresip()
    cfg = write_config(tmp_path, free_port(), "t-sip", account(free_port(), register=False, echo_cancel=False))
    assert sip_rows(cfg)["registration"]["result"] == "pass"
    cfg.write_text(cfg.read_text().split("[voice_call]")[0])
    assert sip_rows(cfg) == {}


@pytest.fixture
def registrar(tmp_path):
    need_baresip()
    server = Registrar(tmp_path / "registrar").start()
    yield server
    server.stop()


def server_account(registrar: Registrar, password: str, **keys: object) -> str:
    text = (f'\n[voice_call]\naccount = "sip:hub-0001@{registrar.domain}"\npassword = "{password}"\n'
            f'listen = "127.0.0.1:{free_sip_port()}"\necho_cancel = false\n')
    return text + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())


def test_stopped_hub_registers_with_a_real_server_or_blames_the_account(tmp_path, registrar):
    cfg = write_config(tmp_path, free_port(), "t-sip", server_account(registrar, "secret"))
    assert sip_rows(cfg)["registration"] == {
        "component": "sip", "check": "registration", "result": "pass",
        "value": f"registered as sip:hub-0001@{registrar.domain}", "remedy": ""}
    cfg = write_config(tmp_path, free_port(), "t-sip", server_account(registrar, "wrong"))
    row = sip_rows(cfg)["registration"]
    assert row["result"] == "fail" and "401 Unauthorized" in row["value"]
    assert "password" in row["remedy"]


def test_running_hub_is_registered_and_says_so(tmp_path, registrar):
    with broker(tmp_path) as port:
        cfg = write_config(tmp_path, port, "t-sip", server_account(registrar, "secret"))
        with running_hub(cfg):
            status: dict[str, Any] = {}
            end = time.monotonic() + 15
            while not str(status.get("voice_call", "")).startswith("registered") and time.monotonic() < end:
                status = json.loads(hub_cli("status", "--json", "--config", str(cfg)).stdout or "{}")
                time.sleep(0.1)
            assert status["voice_call"] == f"registered as sip:hub-0001@{registrar.domain}"
            rows = running_hub_rows(cfg)
    assert rows["registration"]["result"] == "pass"
