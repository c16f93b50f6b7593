"""Username/password against a broker that requires them: right credentials connect, wrong ones are
refused with a reason in `hub status`, and the call waits in the queue."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import PREFIX, Broker, HubProcess, Subscriber, free_port, wait_online, wait_until, write_config

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed")]


def _broker(tmp_path, users: dict[str, str]) -> Broker:
    root = tmp_path / "authbroker"
    root.mkdir()
    pw = root / "passwords"
    pw.touch()
    for user, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True, capture_output=True)
    port = free_port()
    listener = f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n"
    return Broker(root, extra_conf=listener, port=port).start()


def test_right_credentials_connect_and_deliver(tmp_path):
    broker = _broker(tmp_path, {"hub-0001": "s3cret-Pw", "platform": "pl-Pw"})
    sub = Subscriber(broker.port, f"{PREFIX}/#", client_id="platform-sub", auth=("platform", "pl-Pw"))
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port,
                       mqtt_extra='username = "hub-0001"\npassword = "s3cret-Pw"\n')
    hub = HubProcess(cfg).start()
    try:
        assert wait_online(sub, "test-0001"), hub.log_tail()
        call_id = hub.sim("press")["event_id"]
        assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 5)
        assert "s3cret" not in hub.log_path.read_text()
    finally:
        hub.stop()
        sub.close()
        broker.kill()


def test_wrong_password_is_refused_and_the_call_kept(tmp_path):
    broker = _broker(tmp_path, {"hub-0001": "s3cret-Pw"})
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port,
                       mqtt_extra='username = "hub-0001"\npassword = "wrong-Pw"\n')
    hub = HubProcess(cfg).start()
    try:
        call_id = hub.sim("press")["event_id"]
        status = wait_until(lambda: (st := hub.status())["last_error"] and st, 15, "the refused login")
        assert status["state"] == "offline"
        assert "refused" in status["last_error"] or "closed the connection" in status["last_error"]
        assert [c["call_id"] for c in status["open_calls"]] == [call_id]
        assert status["queue"]["urgent"] == 1
        assert "wrong-Pw" not in hub.log_path.read_text()
    finally:
        hub.stop()
        broker.kill()
