"""A publish the broker refuses (MQTT 5 PUBACK reason >= 0x80) is not a delivery: the event stays, the
refusal is logged once and raised as fault.uplink, and the event goes out once the broker allows it."""

from __future__ import annotations

import time

import pytest
from mqtt_faults import AclBroker
from schemas import assert_valid
from support import PREFIX, HubProcess, Subscriber, round_trip, wait_online, wait_until, write_config
from tls_pki import TlsBroker, tls_setup

pytestmark = pytest.mark.timeout(120)

HUB = "test-0001"
USERS = {"hub": "hub-secret", "platform": "platform-secret"}
DENY_EVENTS = (f"user hub\ntopic write {PREFIX}/{HUB}/status\ntopic read {PREFIX}/{HUB}/cmd/#\n\n"
               f"user platform\ntopic readwrite {PREFIX}/#\n")
ALLOW_EVENTS = DENY_EVENTS.replace("\n\nuser platform", f"\ntopic write {PREFIX}/{HUB}/event/#\n\nuser platform")


def _by_id(sub: Subscriber, event_id: str) -> list[dict]:
    return [e for e in sub.events() if e.get("id") == event_id]


@pytest.mark.parametrize("identity", ["password", "client_certificate"])
def test_an_acl_refusal_keeps_the_call_raises_a_fault_and_delivers_once_allowed(tmp_path, identity):
    root = tmp_path / "broker"
    root.mkdir()
    broker: AclBroker | TlsBroker
    if identity == "password":
        broker = AclBroker(root, USERS, DENY_EVENTS).start()
        sub = Subscriber(broker.port, f"{PREFIX}/#", auth=("platform", USERS["platform"]))
        mqtt_extra = 'username = "hub"\npassword = "hub-secret"\n'
    else:  # the same ACL, the user being the certificate's CN (use_identity_as_username)
        broker, sub_tls, mqtt_extra = tls_setup(root, DENY_EVENTS, hub_cn="hub")
        sub = Subscriber(broker.port, f"{PREFIX}/#", **sub_tls)
    cfg = write_config(tmp_path / "hub" / "hub.toml", broker.port, hub_id=HUB, mqtt_extra=mqtt_extra)
    hub = HubProcess(cfg).start()
    try:
        assert wait_online(sub, HUB), hub.log_tail()
        call_id = hub.sim("press")["event_id"]
        wait_until(lambda: hub.status().get("uplink_faults"), 10, hub.log_tail)
        status = hub.status()
        assert [f["kind"] for f in status["uplink_faults"]] == ["not_authorized"], hub.log_tail()
        assert "Not authorized" in status["last_error"] and f"{PREFIX}/{HUB}/event/call" in status["last_error"]
        # The call and its fault are both kept (the fault's own topic is refused too), and retried.
        assert status["queue"]["urgent"] == 2
        time.sleep(2)  # several retries (reconnect_max_s = 1 in tests)
        log = hub.log_path.read_text()
        assert log.count("the broker refused call.raised") == 1, "logged once, not on every retry"
        assert _by_id(sub, call_id) == []

        broker.reload(ALLOW_EVENTS)
        fault = sub.wait_event("fault.uplink", 15)
        assert fault is not None, hub.log_tail()
        assert fault["data"]["kind"] == "not_authorized" and fault["data"]["reason_code"] == 0x87
        cleared = sub.wait_event("fault.cleared", 10, component="uplink")
        assert cleared is not None and cleared["data"]["kind"] == "not_authorized"
        assert cleared["data"]["fault_id"] == fault["id"]
        assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 5)
        for event in (fault, cleared, _by_id(sub, call_id)[0]):
            assert_valid(event)
        round_trip(sub, HUB)  # the hub has moved on: a second copy of the call would have arrived before the pong
        assert len(_by_id(sub, call_id)) == 1
        # delivered rows (the pong's too) leave the outbox in a batch, shortly after their PUBACK
        status = wait_until(lambda: next((s for s in [hub.status()] if s["queue_depth"] == 0), None), 10,
                            lambda: f"an empty queue: {hub.status()}")
        assert "uplink_faults" not in status and status["last_error"] == ""
    finally:
        hub.stop()
        sub.close()
        broker.kill()
