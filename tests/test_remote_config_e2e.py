"""Remote configuration end to end: a real mosquitto, the platform's retained `config/desired`, the hub's
retained `config/reported`, and the hub run the way systemd runs it (restarted whenever it exits, unless
with status 2: Restart=always, RestartPreventExitStatus=2 in systemd/eldercare-hub.service)."""

from __future__ import annotations

import json
import signal
import tomllib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from schemas import assert_valid_as
from supervisor import Supervisor
from support import PREFIX, HubProcess, Subscriber, free_port, wait_online, wait_until

from hub.core.control import ControlError

HUB = "test-0001"
DESIRED = f"{PREFIX}/{HUB}/config/desired"
REPORTED = f"{PREFIX}/{HUB}/config/reported"
SECRET = "s3cret-Passw0rd"
PROBE = f"{PREFIX}/{HUB}/selftest/config"


@pytest.fixture
def supervised(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]
               ) -> Iterator[Callable[..., tuple[Supervisor, Subscriber]]]:
    made: list[Supervisor] = []

    def make(extra: str = "") -> tuple[Supervisor, Subscriber]:
        sub = subscriber(f"{PREFIX}/{HUB}/#")
        supervisor = Supervisor(make_hub(extra=extra, start=False)).start()
        made.append(supervisor)
        assert wait_online(sub, HUB), supervisor.hub.log_tail()
        return supervisor, sub

    yield make
    for supervisor in made:
        supervisor.stop()


class PlatformAcker:
    """The platform's side of the broker proof (docs/fleet.md): it reads the hub's probe on
    `{prefix}/{hub}/selftest/config` and answers `cmd/config_ack` with its version and nonce."""

    def __init__(self, port: int) -> None:
        self.acked: list[dict[str, Any]] = []
        self.sub = Subscriber(port, PROBE)
        self.sub.client.on_message = self._probe

    def _probe(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return  # b"": the hub cleared its probe
        ack = {"version": body["version"], "probe": body["probe"]}
        assert_valid_as("cmd.config_ack", ack)
        client.publish(f"{PREFIX}/{HUB}/cmd/config_ack", json.dumps(ack), qos=1)
        self.acked.append(ack)

    def close(self) -> None:
        self.sub.close()


def desire(sub: Subscriber, body: dict[str, Any] | bytes) -> None:
    """The platform's move: a retained QoS 1 document on config/desired."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    sub.client.publish(DESIRED, payload, qos=1, retain=True).wait_for_publish(5)


def reported(sub: Subscriber, version: int | None, result: str, timeout: float = 20) -> dict[str, Any]:
    found = sub.wait_for(lambda m: m[1] == REPORTED and isinstance(m[2], dict) and m[2].get("version") == version
                         and m[2].get("result") == result, timeout)
    assert found is not None, f"no {result} report for version {version}; saw " + json.dumps(
        [m[2] for m in sub.messages if m[1] == REPORTED], ensure_ascii=False)[-1500:]
    assert_valid_as("config.reported", found[2])
    return dict(found[2])


def reports(sub: Subscriber) -> list[dict[str, Any]]:
    with sub.lock:
        return [m[2] for m in sub.messages if m[1] == REPORTED and isinstance(m[2], dict)]


def test_live_change_applied_at_once_and_reported(supervised, subscriber):
    supervisor, sub = supervised()
    hub = supervisor.hub
    desire(sub, {"version": 1, "config": {"calls": {"ack_timeout_s": 2}}})
    report = reported(sub, 1, "applied")
    assert reported(subscriber(REPORTED), 1, "applied") == report  # retained: a platform that comes later has it
    assert report["changed"] == ["calls.ack_timeout_s"] and report["applied_version"] == 1
    assert report["config"]["calls"]["ack_timeout_s"] == 2
    # Live: the running hub escalates an unanswered call after 2 s, not the 60 s it started with.
    call_id = hub.sim("press", "--button", "17")["event_id"]
    escalated = sub.wait_event("call.escalated", 15, call_id=call_id)
    assert escalated is not None and escalated["data"]["after_s"] == 2.0
    assert supervisor.exits == []  # no restart
    status = hub.status()
    assert status["config"] == {"version": 1, "last": {"version": 1, "result": "applied", "ts": report["ts"]}}
    assert_valid_as("status", {**status, "state": "online"})
    assert tomllib.loads(hub.config.read_text())["calls"]["ack_timeout_s"] == 2
    assert "[calls]" not in hub.config.with_name("hub.toml.bak").read_text()  # the file as it was
    shown = hub.cli("status")
    assert shown.returncode == 0 and f"config 配置: version 1  (last: applied v1 at {report['ts']})" in shown.stdout


def test_change_read_at_start_restarts_the_hub_and_is_reported_after(supervised):
    supervisor, sub = supervised()
    desire(sub, {"version": 4, "config": {"modem": {"sms_numbers": ["+8613800138000"]},
                                          "mqtt": {"keepalive_s": 25}}})
    report = reported(sub, 4, "applied_restart", timeout=40)
    assert supervisor.exits == [0]  # one clean exit, started again by the supervisor
    assert report["changed"] == ["modem.sms_numbers", "mqtt.keepalive_s"]
    assert report["config"]["mqtt"]["keepalive_s"] == 25
    assert report["config"]["modem"]["sms_numbers"] == ["+8613800138000"]
    assert supervisor.status()["config"]["version"] == 4
    # The retained document comes again on every connect: the same version is not applied twice.
    supervisor.signal(signal.SIGTERM)
    ignored = "desired config version 4 is not newer than 4: ignored"
    assert _wait_log(supervisor.hub, ignored, count=2, timeout=40), supervisor.hub.log_tail()
    assert supervisor.exits == [0, 0]
    assert {r["ts"] for r in reports(sub) if r["version"] == 4} == {report["ts"]}  # the same report again
    assert supervisor.status()["config"] == {"version": 4, "last": {
        "version": 4, "result": "applied_restart", "ts": report["ts"]}}


@pytest.mark.parametrize(("body", "key", "words"), [
    ({"version": 1, "config": {"mqtt": {"port": 70000}}}, "mqtt.port", ["70000", "from 1 to 65535"]),
    ({"version": 1, "config": {"calls": {"ack_timeout": 5}}}, "calls.ack_timeout", ["unknown key", "ack_timeout_s"]),
    ({"version": 1, "config": {"hub": {"id": "someone-else"}}}, "hub.id", ["cannot be changed remotely"]),
    ({"version": 1, "config": {"mqtt": {"tls": {"insecure": True}}}}, "mqtt.tls",
     ["cannot be changed remotely", "TLS"]),
    ({"version": 1, "config": {"voice": {"player": "/bin/sh"}}}, "voice.player", ["cannot be changed remotely"]),
    (b"{not json", "(document)", ["not JSON"]),
    (b"[1, 2]", "(document)", ["must be a JSON object"]),
    (json.dumps({"version": 1, "config": {"hub": {"resident_ref": "x" * 70000}}}).encode(), "(document)",
     ["max_bytes"]),
])
def test_invalid_desired_refused_naming_the_key(supervised, body, key, words):
    supervisor, sub = supervised()
    before = supervisor.hub.config.read_bytes()
    desire(sub, body)
    report = reported(sub, body["version"] if isinstance(body, dict) else None, "refused")
    assert report["key"] == key
    assert all(w in report["reason"] for w in words), report["reason"]
    assert report["applied_version"] == 0
    assert supervisor.hub.config.read_bytes() == before and supervisor.exits == []
    assert key in supervisor.hub.log_tail(60)  # and in the log, for the technician


def test_version_not_newer_is_ignored(supervised):
    supervisor, sub = supervised()
    desire(sub, {"version": 5, "config": {"calls": {"guard_s": 4}}})
    reported(sub, 5, "applied")
    desire(sub, {"version": 3, "config": {"calls": {"guard_s": 8}}})
    assert _wait_log(supervisor.hub, "desired config version 3 is not newer than 5: ignored"), supervisor.hub.log_tail()
    assert [r["version"] for r in reports(sub)] == [5]
    assert tomllib.loads(supervisor.hub.config.read_text())["calls"]["guard_s"] == 4
    # The platform clears its document: nothing changes.
    desire(sub, b"")
    assert _wait_log(supervisor.hub, "cleared"), supervisor.hub.log_tail()
    assert supervisor.status()["config"]["version"] == 5


def test_secrets_set_remotely_are_never_shown(supervised, broker):
    supervisor, sub = supervised()
    platform = PlatformAcker(broker.port)  # new credentials: confirmed by the broker proof
    desire(sub, {"version": 2, "config": {"mqtt": {"username": "hub-0001", "password": SECRET}}})
    report = reported(sub, 2, "applied_restart", timeout=40)
    assert platform.acked and platform.acked[0]["version"] == 2
    platform.close()
    assert report["config"]["mqtt"]["password"] == "(hidden)" and report["config"]["mqtt"]["username"] == "hub-0001"
    assert "mqtt.password" in report["changed"]
    # Refused with a secret in it: the reason names the key at fault, never the secret.
    desire(sub, {"version": 3, "config": {"mqtt": {"password": SECRET, "port": 0}}})
    refused = reported(sub, 3, "refused")
    assert SECRET not in json.dumps(refused)
    with sub.lock:
        seen = [m[2] if isinstance(m[2], bytes) else json.dumps(m[2]).encode() for m in sub.messages
                if m[1] != DESIRED]
    assert not any(SECRET.encode() in body for body in seen)
    assert SECRET not in supervisor.hub.log_path.read_text()
    assert SECRET not in json.dumps(supervisor.status())
    assert SECRET in supervisor.hub.config.read_text()  # the hub needs it, in its 0600 file


def test_connectivity_breaking_change_rolled_back_and_reported(supervised):
    supervisor, sub = supervised("[remote_config]\nrollback_after_s = 10\n")
    original = supervisor.hub.config.read_bytes()
    nobody = free_port()
    desire(sub, {"version": 7, "config": {"mqtt": {"port": nobody}}})
    report = reported(sub, 7, "rolled_back", timeout=60)
    assert "no connection to the broker within 10 s" in report["reason"] and "mqtt.port" in report["reason"]
    assert report["applied_version"] == 0 and report["config"]["mqtt"]["port"] != nobody
    assert supervisor.exits == [0, 0]  # restart on the new file, restart on the old one
    assert supervisor.hub.config.read_bytes() == original
    # The retained version 7 is still there but not tried again; a new version is.
    desire(sub, {"version": 8, "config": {"calls": {"guard_s": 6}}})
    reported(sub, 8, "applied")
    assert supervisor.exits == [0, 0]


def test_hub_killed_during_the_trial_still_rolls_back(supervised):
    """A power cut (SIGKILL) while the new file is on trial: the next start goes on with the trial."""
    supervisor, sub = supervised("[remote_config]\nrollback_after_s = 10\n")
    desire(sub, {"version": 2, "config": {"mqtt": {"port": free_port()}}})
    assert _wait_log(supervisor.hub, "on trial"), supervisor.hub.log_tail()
    supervisor.signal(signal.SIGKILL)  # the supervisor starts it again, as systemd does after a crash
    report = reported(sub, 2, "rolled_back", timeout=60)
    assert supervisor.exits[:2] == [0, -9]
    state = json.loads((supervisor.hub.state_dir / "remote-config.json").read_text())
    assert state["pending"] is None and state["seen_version"] == 2 and state["applied_version"] == 0
    assert report["config"]["mqtt"]["port"] == tomllib.loads(supervisor.hub.config.read_text())["mqtt"]["port"]


def test_restart_waits_until_the_open_call_is_acknowledged(supervised):
    supervisor, sub = supervised()
    hub = supervisor.hub
    call_id = hub.sim("press", "--button", "17")["event_id"]
    assert sub.wait_event("call.raised", 10) is not None
    desire(sub, {"version": 3, "config": {"mqtt": {"keepalive_s": 40}}})
    assert _wait_status(hub, lambda st: st.get("config", {}).get("waiting")), hub.log_tail()
    assert supervisor.exits == []
    sub.publish(f"{PREFIX}/{HUB}/cmd/ack", json.dumps({"event_id": call_id, "by": "值班员"}))
    reported(sub, 3, "applied_restart", timeout=40)
    assert supervisor.exits == [0]


def test_wiring_is_held_until_a_technician_applies_it_at_the_unit(supervised):
    """Buttons from the platform: held (a wrong pin makes real presses do nothing, which no broker round trip
    can notice) until `hub config apply` on the unit; then the ordinary restart and trial."""
    supervisor, sub = supervised()
    hub = supervisor.hub
    before = hub.config.read_bytes()
    buttons = [{"pin": 17, "kind": "emergency"}, {"pin": 27, "kind": "family"}]
    desire(sub, {"version": 5, "config": {"buttons": buttons}})
    held = reported(sub, 5, "held")
    assert held["key"] == "buttons" and "pending local confirmation" in held["reason"] and held["applied_version"] == 0
    assert hub.config.read_bytes() == before and supervisor.exits == []
    shown = hub.cli("config", "apply", "--show")
    assert shown.returncode == 0 and "version 5" in shown.stdout and "buttons" in shown.stdout, shown.stderr
    assert hub.config.read_bytes() == before
    applied = hub.cli("config", "apply")
    assert applied.returncode == 0 and "confirmed" in applied.stdout, applied.stderr
    report = reported(sub, 5, "applied_restart", timeout=40)
    assert supervisor.exits == [0]
    assert [(b["pin"], b["kind"]) for b in report["config"]["buttons"]] == [(17, "emergency"), (27, "family")]
    assert _wait_status(hub, lambda st: st["config"]["version"] == 5)
    again = hub.cli("config", "apply")
    assert again.returncode == 1 and "no configuration" in again.stderr


def _wait_log(hub: HubProcess, text: str, timeout: float = 20, count: int = 1) -> bool:
    return bool(wait_until(lambda: hub.log_path.read_text(errors="replace").count(text) >= count, timeout,
                           lambda: f"{text!r} {count}x in the log:\n{hub.log_tail()}", 0.1))


def _wait_status(hub: HubProcess, predicate: Callable[[dict[str, Any]], Any], timeout: float = 20) -> bool:
    def met() -> bool:
        try:
            return bool(predicate(hub.status()))
        except ControlError:  # restarting: its control socket comes back after the components start
            return False
    return bool(wait_until(met, timeout, lambda: f"the status to match:\n{hub.log_tail()}", 0.1))
