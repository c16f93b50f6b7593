"""Protocol negotiation: a broker that will not speak MQTT 5 gets a specific message; CONNACK limits are
honoured; accepted-then-dropped connections back off; two units with one client id stop fighting."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from brokers import AmqttBroker, EjabberdBroker, missing
from mqtt_faults import FakeBroker
from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, wait_online, wait_until, write_config
from tls_pki import HUB_ACL, PLATFORM_ACL, tls_setup

pytestmark = pytest.mark.timeout(120)


_LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
_WAITING = re.compile(_LOG_TIME + r"WARNING .*seems to use this hub's id .*; waiting (\d+) s before connecting", re.M)
_CONNECTED = re.compile(_LOG_TIME + r"INFO \S+: connected to ", re.M)


def kept_away(hub: HubProcess) -> list[tuple[int, float]]:
    """(the wait the unit announced after a takeover, seconds until its next connection) for each wait it
    has finished, from its log."""
    def at(stamp: str) -> float:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    text = hub.log_path.read_text()
    connects = [at(m.group(1)) for m in _CONNECTED.finditer(text)]
    kept = []
    for m in _WAITING.finditer(text):
        said_at = at(m.group(1))
        after = next((c for c in connects if c > said_at), None)
        if after is not None:
            kept.append((int(m.group(2)), after - said_at))
    return kept


def _status_until(hub: HubProcess, predicate, timeout: float = 15) -> dict:  # type: ignore[no-untyped-def]
    return dict(wait_until(lambda: next((s for s in [hub.status()] if predicate(s)), None), timeout,
                           lambda: f"the status to match; last: {hub.status()}"))


@pytest.mark.parametrize("mode,words", [
    ("v311_connack", "refused MQTT 5 (Unsupported protocol version)"),
    ("v311_close", "speaks only MQTT 3.1.1"),
])
def test_a_broker_without_mqtt5_gets_a_specific_message(tmp_path, mode, words):
    fake = FakeBroker(mode)
    hub = HubProcess(write_config(tmp_path / "hub.toml", fake.port)).start()
    try:
        status = _status_until(hub, lambda s: words in s["last_error"])
        assert words in status["last_error"], status["last_error"]
        assert "session expiry" in status["last_error"] and "tls" not in status["last_error"].lower()
        assert status["state"] == "offline"
        call_id = hub.sim("press")["event_id"]
        assert hub.status()["queue"]["urgent"] == 1 and call_id
        if mode == "v311_close":  # the diagnosis connected once with 3.1.1, under its own client id
            assert (4 in {level for _, level in fake.connects})
    finally:
        hub.stop()
        fake.close()


def test_a_real_mqtt311_only_broker_amqtt_gets_the_same_message(tmp_path):
    if not AmqttBroker.available():
        pytest.skip("amqtt not installed (the [test] extra has it)")
    root = tmp_path / "broker"
    root.mkdir()
    broker = AmqttBroker(root).start()
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", broker.port)).start()
    try:
        # amqtt 0.12 cannot parse an MQTT 5 CONNECT carrying a Last Will: it never answers, and drops
        # the connection only when its own timer runs out. Not "unreachable": the hub probes with 3.1.1.
        status = _status_until(hub, lambda s: "3.1.1" in s["last_error"], timeout=45)
        assert "speaks only MQTT 3.1.1" in status["last_error"], hub.log_tail()
        assert "session expiry" in status["last_error"] and "unreachable" not in status["last_error"]
        assert status["state"] == "offline"
        call_id = hub.sim("press")["event_id"]
        assert hub.status()["queue"]["urgent"] == 1 and call_id
        assert "Invalid file descriptor" not in hub.log_path.read_text()  # the timed-out socket closed cleanly
    finally:
        hub.stop()
        broker.kill()


def test_a_shorter_session_expiry_granted_by_the_broker_is_named(tmp_path):
    if missing("ejabberd"):
        pytest.skip(missing("ejabberd"))
    root = tmp_path / "broker"
    root.mkdir()
    broker = EjabberdBroker(root, session_expiry_s=600).start()  # ejabberd caps it and says so in CONNACK
    user, password = broker.auth("test-0001")
    sub = Subscriber(broker.port, f"{PREFIX}/test-0001/#", client_id="platform", auth=broker.auth("platform"))
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", broker.port,
                                  mqtt_extra=f'username = "{user}"\npassword = "{password}"\n')).start()
    try:
        assert wait_online(sub, "test-0001"), hub.log_tail()
        log = hub.log_path.read_text()
        assert "session expiry 600 s, not the 86400 s asked ([mqtt] session_expiry_s)" in log, hub.log_tail()
        call_id = hub.sim("press")["event_id"]  # the hub works on; only the warning tells
        assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 10)
    finally:
        hub.stop()
        sub.close()
        broker.kill()


def test_a_connection_accepted_then_dropped_does_not_reset_the_backoff(tmp_path):
    fake = FakeBroker("accept_drop")
    cfg = write_config(tmp_path / "hub.toml", fake.port)
    hub = HubProcess(cfg).start()
    try:
        wait_until(lambda: len(fake.connects) >= 6, 20, hub.log_tail)
        attempts = [int(n) for n in re.findall(r"dropped the connection after [\d.]+ s \(attempt (\d+)\)",
                                               hub.log_path.read_text())]
        assert attempts[:5] == [1, 2, 3, 4, 5], hub.log_tail()
    finally:
        hub.stop()
        fake.close()


def test_connack_limits_are_honoured(tmp_path):
    root = tmp_path / "broker"
    root.mkdir()
    probe = Broker(root)
    conf = (f"listener {probe.port} 127.0.0.1\nallow_anonymous true\nretain_available false\n"
            "max_inflight_messages 3\n")
    broker = Broker(root, extra_conf=conf, port=probe.port).start()
    sub = Subscriber(broker.port, f"{PREFIX}/test-0001/#")
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", broker.port)).start()
    try:
        assert wait_online(sub, "test-0001"), hub.log_tail()
        ids = [hub.sim("press", "--button", pin)["event_id"] for pin in ("17", "27", "22", "23")]
        for event_id in ids:
            assert sub.wait_for(lambda m, i=event_id: isinstance(m[2], dict) and m[2].get("id") == i, 10)
        log = hub.log_path.read_text()
        assert "Receive Maximum 3" in log and "no retained messages" in log
        assert "refused the Last Will" in log  # mosquitto refuses a retained will; the hub retried without
    finally:
        hub.stop()
        sub.close()
        broker.kill()


@pytest.mark.parametrize("identity", ["anonymous", "client_certificate", "ejabberd"])
def test_two_units_with_one_id_back_off_and_report_it(tmp_path, request, identity):
    mqtt_extra = "duplicate_backoff_max_s = 20\n"
    if identity == "anonymous":
        broker = request.getfixturevalue("broker")
        sub = Subscriber(broker.port, f"{PREFIX}/dup-0001/#")
    elif identity == "ejabberd":  # says 0x8E Session taken over, where mosquitto 2.0 closes silently
        if missing("ejabberd"):
            pytest.skip(missing("ejabberd"))
        (tmp_path / "ejabberd").mkdir()
        broker = EjabberdBroker(tmp_path / "ejabberd").start()
        request.addfinalizer(broker.kill)
        sub = Subscriber(broker.port, f"{PREFIX}/dup-0001/#", client_id="platform", auth=broker.auth("platform"))
        user, password = broker.auth("dup-0001")
        mqtt_extra += f'username = "{user}"\npassword = "{password}"\n'
    else:  # a cloned SD card: both units present the same certificate, CN dup-0001, under a per-hub ACL
        (tmp_path / "tls").mkdir()
        broker, sub_tls, tls = tls_setup(tmp_path / "tls", PLATFORM_ACL + HUB_ACL, hub_cn="dup-0001")
        request.addfinalizer(broker.kill)
        sub = Subscriber(broker.port, f"{PREFIX}/dup-0001/#", **sub_tls)
        mqtt_extra += tls
    hubs = [HubProcess(write_config(tmp_path / name / "hub.toml", broker.port, hub_id="dup-0001",
                                    mqtt_extra=mqtt_extra)) for name in ("a", "b")]
    try:
        for hub in hubs:
            hub.start()
        fault = sub.wait_event("fault.duplicate_id", 60)
        assert fault is not None, hubs[0].log_tail() + hubs[1].log_tail()
        assert_valid(fault)
        assert fault["data"]["client_id"] == "dup-0001" and fault["data"]["takeovers"] >= 2
        # The fact, not a window: each unit has said it keeps away for a while and has connected again after
        # it. Every wait it announced it kept (its own log's times: a busy machine only makes them longer).
        waits = wait_until(lambda: (w := [kept_away(h) for h in hubs]) and all(w) and w, 60,
                           lambda: f"a back-off kept by each unit: {[kept_away(h) for h in hubs]}")
        for hub, kept in zip(hubs, waits, strict=True):
            assert all(away >= said - 0.55 for said, away in kept), (kept, hub.log_tail())  # said: rounded to 1 s
        takeovers = sum(h.log_path.read_text().count("seems to use this hub's id") for h in hubs)
        # Fighting, they took the id from each other about twice a second; backing off, a few times.
        assert takeovers <= 12, f"{takeovers} takeovers before each unit had kept away once"
        statuses = [h.status() for h in hubs]
        assert any("duplicate_id" in [f["kind"] for f in s.get("uplink_faults", [])] for s in statuses)
        shown = hubs[0].cli("status").stdout + hubs[1].cli("status").stdout
        assert "duplicate_id" in shown
        if identity == "ejabberd":  # the MQTT 5 way: a DISCONNECT with its reason code
            assert "MQTT 5 'Session taken over'" in hubs[0].log_path.read_text() + hubs[1].log_path.read_text()
    finally:
        for hub in hubs:
            hub.stop()
        sub.close()


def test_a_broker_allowing_only_qos0_gets_no_event_it_could_not_confirm(tmp_path):
    root = tmp_path / "broker"
    root.mkdir()
    probe = Broker(root)
    broker = Broker(root, extra_conf=f"listener {probe.port} 127.0.0.1\nallow_anonymous true\nmax_qos 0\n",
                    port=probe.port).start()
    sub = Subscriber(broker.port, f"{PREFIX}/test-0001/#")
    hub = HubProcess(write_config(tmp_path / "hub" / "hub.toml", broker.port)).start()
    try:
        assert wait_online(sub, "test-0001"), hub.log_tail()  # the status still goes out, at QoS 0
        call_id = hub.sim("press")["event_id"]
        status = _status_until(hub, lambda s: "QoS 0" in s["last_error"])
        assert "cannot confirm a call" in status["last_error"] and status["queue"]["urgent"] == 1
        assert not sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 2)
        assert status["state"] == "offline" and "call_offline" in [u["key"] for u in hub.spoken()]
    finally:
        hub.stop()
        sub.close()
        broker.kill()
