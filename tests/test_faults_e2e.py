"""Nothing is lost: broker outages, kill -9 of the hub, TLS with client certificates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, wait_online, wait_until, write_config

pytestmark = pytest.mark.timeout(240)


def _arrived(sub: Subscriber, event_id: str) -> dict | None:
    found = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == event_id, 0.05)
    return found[2] if found else None


@pytest.mark.any_broker
def test_presses_during_an_outage_arrive_in_press_order(hub_env):
    hub_env.broker.stop()
    # The hub learns the broker is gone when it reads the closed socket, after mosquitto has exited:
    # a press before that is a press on a link it still thinks live ("正在呼叫", not "已保存")
    wait_until(lambda: hub_env.hub.status()["state"] == "offline", 15, "the hub noticing the broker gone")
    ids = [hub_env.hub.sim("press", "--button", pin)["event_id"] for pin in ("22", "23", "17")]
    status = hub_env.hub.status()
    assert status["state"] == "offline" and status["queue"]["urgent"] == 3
    spoken = [u["key"] for u in hub_env.hub.spoken()]
    assert spoken.count("call_offline") == 3
    hub_env.broker.start()
    wait_until(lambda: all(_arrived(hub_env.sub, i) for i in ids), 30, "the queued calls")
    got = [_arrived(hub_env.sub, i) for i in ids]
    assert [g["seq"] for g in got] == sorted(g["seq"] for g in got)
    arrival_order = [m[2]["id"] for m in hub_env.sub.messages if isinstance(m[2], dict) and m[2].get("id") in ids]
    assert list(dict.fromkeys(arrival_order)) == ids
    for g in got:
        assert_valid(g)
    wait_until(lambda: hub_env.hub.status()["queue_depth"] == 0, 15, "the delivered calls leaving the queue")


@pytest.mark.any_broker
def test_broker_killed_mid_session_loses_nothing(hub_env):
    before = hub_env.hub.sim("press", "--button", "17")["event_id"]
    assert hub_env.sub.wait_event("call.raised", 5)
    hub_env.broker.kill()
    during = hub_env.hub.sim("press", "--button", "27")["event_id"]
    wait_until(lambda: hub_env.hub.status()["state"] == "offline", 15, "the hub noticing the broker gone")
    hub_env.broker.start()
    wait_until(lambda: _arrived(hub_env.sub, during), 30, "the call pressed during the outage")
    assert _arrived(hub_env.sub, before)


@pytest.mark.any_broker
def test_kill9_right_after_the_press_still_delivers(make_hub, subscriber, broker):
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub()
    assert wait_online(sub, "test-0001")
    broker.stop()
    call_id = hub.sim("press", "--button", "27")["event_id"]
    hub.kill9()
    broker.start()
    hub.start()
    found = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 30)
    assert found, hub.log_tail()
    assert found[2]["type"] == "call.raised"
    # The restarted hub remembers the open call, so a late ack still closes it.
    assert [c["call_id"] for c in hub.status()["open_calls"]] == [call_id]


@pytest.mark.any_broker
def test_seq_keeps_increasing_across_restarts(make_hub, subscriber):
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub()
    assert wait_online(sub, "test-0001")
    a = hub.sim("press", "--button", "17")["event_id"]
    hub.stop()
    hub.start()
    b = hub.sim("press", "--button", "27")["event_id"]
    ea = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == a, 10)
    eb = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == b, 10)
    assert ea and eb and eb[2]["seq"] > ea[2]["seq"]


def _make_certs(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=test-ca")
    for name, cn in (("server", "127.0.0.1"), ("client", "test-0001")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={cn}")
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if name == "server"
                       else "extendedKeyUsage=clientAuth\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", str(ext))


def _tls_broker(tmp_path, extra_listener: str = ""):
    """Fresh certificates under tmp_path/certs and a started mosquitto that requires a client
    certificate on a TLS listener; returns (certs dir, broker)."""
    certs = tmp_path / "certs"
    certs.mkdir()
    _make_certs(certs)
    root = tmp_path / "tlsbroker"
    root.mkdir()
    probe = Broker(root)  # only to pick the free port
    listener = (f"listener {probe.port} 127.0.0.1\nallow_anonymous true\ncafile {certs}/ca.pem\n"
                f"certfile {certs}/server.pem\nkeyfile {certs}/server.key\nrequire_certificate true\n"
                + extra_listener)
    return certs, Broker(root, extra_conf=listener, port=probe.port).start()


def test_tls_with_client_certificate(tmp_path):
    certs, broker = _tls_broker(tmp_path, "use_identity_as_username true\n")
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port,
                       mqtt_extra=f'tls = {{ ca = "{certs}/ca.pem", cert = "{certs}/client.pem", '
                                  f'key = "{certs}/client.key" }}\n')
    sub = Subscriber(broker.port, f"{PREFIX}/#", tls={"ca_certs": str(certs / "ca.pem"),
                                                      "certfile": str(certs / "client.pem"),
                                                      "keyfile": str(certs / "client.key")})
    hub = HubProcess(cfg).start()
    try:
        assert wait_online(sub, "test-0001"), hub.log_tail()
        call_id = hub.sim("press")["event_id"]
        assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 5)
    finally:
        hub.stop()
        sub.close()
        broker.kill()


def test_tls_without_client_certificate_is_refused_and_the_call_kept(tmp_path):
    certs, broker = _tls_broker(tmp_path)
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port,
                       mqtt_extra=f'tls = {{ ca = "{certs}/ca.pem" }}\n')
    hub = HubProcess(cfg).start()
    try:
        call_id = hub.sim("press")["event_id"]
        status = wait_until(lambda: (st := hub.status())["last_error"] and st, 15, "the refused TLS handshake")
        assert status["state"] == "offline" and status["last_error"]
        assert [c["call_id"] for c in status["open_calls"]] == [call_id]
        assert status["queue"]["urgent"] == 1
    finally:
        hub.stop()
        broker.kill()


def test_a_broker_that_lost_its_sessions_gets_the_backlog_only_after_a_grace(make_hub, broker, tmp_path):
    """Restarted without its state, the broker has forgotten the platform's subscription too: the hub
    holds its backlog for [mqtt] resubscribe_grace_s so a platform that re-subscribes in time sees it."""
    hub = make_hub()
    first = Subscriber(broker.port, f"{PREFIX}/#", client_id="platform-a")
    assert wait_online(first, "test-0001")
    first.close()
    broker.stop()
    for db in broker.root.glob("mosquitto*.db"):
        db.unlink()  # the broker comes back knowing no sessions
    ids = [hub.sim("press", "--button", pin)["event_id"] for pin in ("22", "23")]
    broker.start()
    # the hub is back first; the platform only now
    wait_until(lambda: "holding the backlog" in hub.log_path.read_text(), 15, "the hub holding its backlog")
    late = Subscriber(broker.port, f"{PREFIX}/#", client_id="platform-b")
    try:
        for event_id in ids:
            assert late.wait_for(lambda m, i=event_id: isinstance(m[2], dict) and m[2].get("id") == i, 10), \
                hub.log_tail()
        assert "holding the backlog" in hub.log_path.read_text()
    finally:
        late.close()
