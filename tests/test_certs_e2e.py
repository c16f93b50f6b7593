"""TLS client certificates against a real mosquitto (require_certificate, CN as username, a per-hub ACL):
rotation end to end without losing or repeating a call, certificates the hub must refuse, a rotated
certificate the broker refuses (back to the old pair), a restart mid-rotation, and least privilege."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from schemas import assert_valid, assert_valid_as
from support import PREFIX, HubProcess, Subscriber, round_trip, wait_online, wait_until, write_config
from tls_pki import HUB_ACL, PLATFORM_ACL, Ca, TlsBroker, tls_mqtt_extra

pytestmark = pytest.mark.timeout(180)

HUB = "test-0001"


class Pki:
    def __init__(self, tmp: Path, hub_ca_extra: Ca | None = None, hub_days: float = 90) -> None:
        self.root = tmp / "broker"
        self.root.mkdir()
        self.ca = Ca.make("test platform CA")
        self.broker = TlsBroker(self.root, self.ca, PLATFORM_ACL + HUB_ACL).start()
        keys = tmp / "keys"
        keys.mkdir()
        self.hub_cert, self.hub_key = self.ca.client(keys, HUB, hub_days)
        self.platform = self.ca.client(keys, "platform")
        # What the hub trusts ([mqtt.tls] ca): the platform CA, and in one test a second CA the broker
        # does not accept for clients.
        self.hub_ca = keys / "hub-ca.pem"
        self.hub_ca.write_bytes(self.ca.pem + (hub_ca_extra.pem if hub_ca_extra else b""))
        self.sub = Subscriber(self.broker.port, f"{PREFIX}/#", client_id="platform-sub",
                              tls=self.broker.client_tls(*self.platform))

    def hub(self, tmp: Path, extra: str = "", mqtt: str = "") -> HubProcess:
        cfg = write_config(tmp / "hub" / "hub.toml", self.broker.port, hub_id=HUB,
                           mqtt_extra=mqtt + tls_mqtt_extra(self.hub_ca, self.hub_cert, self.hub_key),
                           extra="[certificates]\nrotation_timeout_s = 8\n" + extra)
        return HubProcess(cfg)

    def command(self, name: str, body: dict) -> None:
        if name != "ping":  # what the platform sends is what docs/schemas/cmd.NAME.json says
            assert_valid_as(f"cmd.{name}", body)
        self.sub.publish(f"{PREFIX}/{HUB}/cmd/{name}", json.dumps(body))

    def close(self) -> None:
        self.sub.close()
        self.broker.kill()


@pytest.fixture
def pki(tmp_path):  # type: ignore[no-untyped-def]
    made = Pki(tmp_path)
    yield made
    made.close()


def _by_id(sub: Subscriber, event_id: str) -> list[dict]:
    return [e for e in sub.events() if e.get("id") == event_id]


def _csr(pki: Pki, request_id: str) -> dict:
    pki.command("rotate_cert", {"request_id": request_id})
    csr = pki.sub.wait_event("cert.csr", 15, request_id=request_id)
    assert csr is not None
    assert_valid(csr)
    return csr


def _settled(hub: HubProcess, timeout: float = 10) -> dict:
    """The hub's status once every queued event has its PUBACK (deletes are batched)."""
    return wait_until(lambda: next((s for s in [hub.status()] if not s["queue_depth"]), None), timeout,
                      "an empty queue")


def _serial(pem: str) -> str:
    from cryptography import x509

    return f"{x509.load_pem_x509_certificate(pem.encode()).serial_number:x}"


@pytest.mark.parametrize("key_type", ["ec-p256", "ed25519"])
def test_rotation_end_to_end_loses_and_repeats_no_call(tmp_path, pki, key_type):
    hub = pki.hub(tmp_path, extra=f'key_type = "{key_type}"\n').start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        old_serial = hub.status()["certificate"]["serial"]
        csr = _csr(pki, "rot-1")
        assert csr["data"]["subject"] == f"CN={HUB}" and "PRIVATE KEY" not in json.dumps(csr)
        assert csr["data"]["key_type"] == key_type
        key_file = hub.state_dir / "tls" / "rot-1" / "key.pem"
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        cert_pem = pki.ca.sign_csr(csr["data"]["csr_pem"])
        before = hub.sim("press")["event_id"]  # just before the switch
        pki.command("install_cert", {"request_id": "rot-1", "cert_pem": cert_pem})
        during = hub.sim("press", "--button", "27")["event_id"]  # while it reconnects
        rotated = pki.sub.wait_event("cert.rotated", 30, request_id="rot-1")
        assert rotated is not None, hub.log_tail()
        assert_valid(rotated)
        assert rotated["data"]["serial"] == _serial(cert_pem) and rotated["data"]["previous_serial"] == old_serial
        for call in (before, during):
            assert pki.sub.wait_for(lambda m, c=call: isinstance(m[2], dict) and m[2].get("id") == c, 15)
        # The status shows the pair in use once the expiry check has read it again, after cert.rotated went
        # out and the pair was promoted (hub.certificates.rotation._rotated): wait for it, not for the event.
        wait_until(lambda: hub.status()["certificate"]["serial"] == _serial(cert_pem), 10,
                   lambda: f"the new serial in status: {hub.status().get('certificate')}")
        status = _settled(hub)
        assert status["state"] == "online" and status["certificate"]["serial"] == _serial(cert_pem)
        assert status["queue_depth"] == 0 and "uplink_faults" not in status
        # The platform's command delivered twice (QoS 1): the certificate is already in use, nothing fails.
        pki.command("install_cert", {"request_id": "rot-1", "cert_pem": cert_pem})
        round_trip(pki.sub, HUB)  # past the repeated command: a resent event would have come first
        assert [len(_by_id(pki.sub, c)) for c in (before, during)] == [1, 1], hub.log_path.read_text()[-6000:]
        assert pki.sub.events("cert.rotation_failed") == []
        # A restart keeps the rotated pair; the provisioned files are untouched.
        hub.stop()
        hub.start()
        assert hub.status()["certificate"]["serial"] == _serial(cert_pem)
        after = hub.sim("press")["event_id"]
        assert pki.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == after, 15), hub.log_tail()
        assert pki.hub_cert.read_bytes().count(b"BEGIN CERTIFICATE") == 1
    finally:
        hub.stop()


def test_certificates_the_hub_must_refuse_keep_the_old_pair(tmp_path, pki):
    hub = pki.hub(tmp_path).start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        old_serial = hub.status()["certificate"]["serial"]
        csr = _csr(pki, "bad-1")
        stranger = Ca.make("someone else's CA").sign_csr(csr["data"]["csr_pem"])
        other_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        from cryptography import x509

        wrong_key = pki.ca.issue(other_key, x509.load_pem_x509_csr(csr["data"]["csr_pem"].encode()).subject)
        cases = [(stranger, "untrusted_issuer"),
                 (wrong_key.public_bytes(serialization.Encoding.PEM).decode(), "key_mismatch"),
                 ("-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n", "bad_certificate")]
        for pem, reason in cases:
            pki.command("install_cert", {"request_id": "bad-1", "cert_pem": pem})
            failed = pki.sub.wait_event("cert.rotation_failed", 15, reason=reason)
            assert failed is not None, hub.log_tail()
            assert_valid(failed)
            assert failed["data"]["stage"] == "check" and failed["data"]["kept_serial"] == old_serial
        pki.command("install_cert", {"request_id": "nope", "cert_pem": stranger})
        assert pki.sub.wait_event("cert.rotation_failed", 15, reason="unknown_request") is not None
        # Still connected with the old pair, and the request still open: the right certificate works.
        call = hub.sim("press")["event_id"]
        assert pki.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call, 10)
        assert hub.status()["certificate"]["serial"] == old_serial
        pki.command("install_cert", {"request_id": "bad-1", "cert_pem": pki.ca.sign_csr(csr["data"]["csr_pem"])})
        assert pki.sub.wait_event("cert.rotated", 30, request_id="bad-1") is not None, hub.log_tail()
    finally:
        hub.stop()


def test_a_certificate_the_broker_refuses_is_rolled_back(tmp_path):
    other = Ca.make("a CA the hub trusts but the broker does not")
    pki = Pki(tmp_path, hub_ca_extra=other)
    hub = pki.hub(tmp_path).start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        old_serial = hub.status()["certificate"]["serial"]
        csr = _csr(pki, "roll-1")
        pki.command("install_cert", {"request_id": "roll-1", "cert_pem": other.sign_csr(csr["data"]["csr_pem"])})
        call = hub.sim("press")["event_id"]  # while the hub tries the new pair, which the broker refuses
        failed = pki.sub.wait_event("cert.rotation_failed", 60, request_id="roll-1")
        assert failed is not None, hub.log_tail()
        assert_valid(failed)
        assert failed["data"]["reason"] == "connect_failed" and failed["data"]["kept_serial"] == old_serial
        assert pki.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call, 15)
        status = hub.status()
        assert status["state"] == "online" and status["certificate"]["serial"] == old_serial
        assert not (hub.state_dir / "tls" / "roll-1").exists()
        round_trip(pki.sub, HUB)
        assert len(_by_id(pki.sub, call)) == 1
    finally:
        hub.stop()
        pki.close()


def test_a_power_cut_while_waiting_for_the_certificate_keeps_the_request(tmp_path, pki):
    hub = pki.hub(tmp_path).start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        csr = _csr(pki, "cut-1")
        hub.kill9()
        hub.start()
        assert wait_online(pki.sub, HUB), hub.log_tail()
        pki.command("install_cert", {"request_id": "cut-1", "cert_pem": pki.ca.sign_csr(csr["data"]["csr_pem"])})
        assert pki.sub.wait_event("cert.rotated", 30, request_id="cut-1") is not None, hub.log_tail()
    finally:
        hub.stop()


def test_a_power_cut_during_the_trial_tries_the_new_certificate_again(tmp_path, pki):
    hub = pki.hub(tmp_path).start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        csr = _csr(pki, "cut-2")
        hub.kill9()
        # What the hub has persisted when the power goes during the trial (hub.certificates.rotation._install): the
        # certificate beside its key, and the request at stage "trial".
        cert_pem = pki.ca.sign_csr(csr["data"]["csr_pem"])
        (hub.state_dir / "tls" / "cut-2" / "cert.pem").write_text(cert_pem)
        state_file = hub.state_dir / "tls" / "state.json"
        state = json.loads(state_file.read_text())
        assert state["active"] is None and state["pending"]["stage"] == "csr"
        state["pending"]["stage"] = "trial"
        state_file.write_text(json.dumps(state))
        hub.start()
        rotated = pki.sub.wait_event("cert.rotated", 30, request_id="cut-2")
        assert rotated is not None, hub.log_tail()
        assert rotated["data"]["serial"] == _serial(cert_pem)
        # cert.rotated is committed before the pair is promoted in state.json (a cut between the two
        # tries the pair again and repeats the event, rather than never sending it): wait for the save.
        want = {"active": "cut-2", "configured": None, "pending": None}
        wait_until(lambda: json.loads(state_file.read_text()) | {"configured": None} == want, 10,
                   "the rotated pair promoted in state.json")
        call = hub.sim("press")["event_id"]
        assert pki.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call, 15), hub.log_tail()
    finally:
        hub.stop()


def test_an_expiring_certificate_is_reported_and_cleared_by_rotation(tmp_path):
    pki = Pki(tmp_path, hub_days=3)
    hub = pki.hub(tmp_path)
    try:
        check = hub.cli("config", "check")
        assert check.returncode == 0 and "expires_soon" in check.stderr and "cmd/rotate_cert" in check.stderr
        hub.start()
        fault = pki.sub.wait_event("fault.certificate", 15)
        assert fault is not None, hub.log_tail()
        assert_valid(fault)
        # Reading the expiry must not load `cryptography` (~10 MB for the life of the process):
        # hub.certificates.der reads it in plain Python. Only a rotation loads it.
        assert hub.proc is not None
        maps = Path(f"/proc/{hub.proc.pid}/maps").read_text()
        assert "cryptography" not in maps, "the running hub mapped the cryptography package to read its expiry"
        assert fault["data"]["state"] == "expires_soon" and 2 < fault["data"]["days_left"] <= 3
        shown = hub.cli("status").stdout
        assert "EXPIRES_SOON" in shown and "天后过期" in shown, shown
        selftest = json.loads(hub.cli("selftest", "--non-interactive", "--only", "broker", "--json").stdout)
        row = next(r for r in selftest["results"] if r["check"] == "certificate")
        assert row["result"] == "fail" and "cmd/rotate_cert" in row["remedy"], row
        csr = _csr(pki, "renew-1")
        pki.command("install_cert", {"request_id": "renew-1", "cert_pem": pki.ca.sign_csr(csr["data"]["csr_pem"])})
        cleared = pki.sub.wait_event("fault.cleared", 30, component="certificate")
        assert cleared is not None, hub.log_tail()
        assert_valid(cleared)
        assert cleared["data"]["fault_id"] == fault["id"] and cleared["data"]["kind"] == "expires_soon"
        assert hub.status()["certificate"]["state"] == "ok"
    finally:
        hub.stop()
        pki.close()


def _publish_as_hub(pki: Pki, topic: str) -> int:
    """PUBACK reason code for a QoS 1 publish presenting the hub's certificate (another client id)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{HUB}-probe", protocol=mqtt.MQTTv5)
    client.tls_set(**pki.broker.client_tls(pki.hub_cert, pki.hub_key))
    codes: list[int] = []
    client.on_publish = lambda c, u, mid, reason, props: codes.append(int(reason.value))
    client.connect("127.0.0.1", pki.broker.port)
    client.loop_start()
    try:
        client.publish(topic, b"{}", qos=1).wait_for_publish(5)
        wait_until(lambda: codes, 5, "the PUBACK's reason code")
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


def test_least_privilege_the_hub_needs_only_its_own_tree(tmp_path, pki):
    # The ACL is really restrictive: the hub's certificate cannot publish for another hub.
    assert _publish_as_hub(pki, f"{PREFIX}/other-hub/event/call") == 0x87
    assert _publish_as_hub(pki, f"{PREFIX}/{HUB}/event/call") == 0
    hub = pki.hub(tmp_path, extra="[smoke]\nkind = \"relay\"\nrelay_pin = 25\n").start()
    try:
        assert wait_online(pki.sub, HUB), hub.log_tail()
        call = hub.sim("press")["event_id"]
        assert pki.sub.wait_event("call.raised", 10) is not None
        pki.command("ack", {"event_id": call, "by": "王芳"})
        assert pki.sub.wait_event("call.acknowledged", 10) is not None, hub.log_tail()
        pki.command("ping", {"n": 1})
        assert pki.sub.wait_event("system.pong", 10) is not None
        hub.sim("smoke", "on")
        fire = pki.sub.wait_event("alarm.fire", 15)
        assert fire is not None, hub.log_tail()
        selftest = hub.cli("selftest", "--non-interactive", "--only", "broker", "--json")
        assert '"pass"' in selftest.stdout, selftest.stdout + selftest.stderr
        status = _settled(hub)
        assert status["certificate"]["state"] == "ok" and status["device"]["certificate"]["state"] == "ok"
        assert "uplink_faults" not in status and status["queue_depth"] == 0, status
        assert pki.sub.events("fault.uplink") == []
        for event in pki.sub.events():
            if event != {}:  # the probe's publish above
                assert_valid(event)
    finally:
        hub.stop()
