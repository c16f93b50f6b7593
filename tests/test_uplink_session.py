"""The resubscribe hold also covers a hub restart: a hub that had a session at this broker and finds
none holds its backlog `[mqtt] resubscribe_grace_s`, so a platform re-subscribing after the broker lost
its sessions still gets the calls queued meanwhile."""

from __future__ import annotations

import time

import pytest
from support import PREFIX, wait_online, wait_until

pytestmark = pytest.mark.timeout(120)


def test_a_restarted_hub_holds_its_backlog_when_the_broker_lost_its_sessions(make_hub, subscriber, broker):
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub()
    assert wait_online(sub, "test-0001"), hub.log_tail()
    # "online" may go out before the hub has noted, off the loop, that it has a session at this broker:
    # stopped before that, the restarted hub rightly has no session to miss
    assert wait_until((hub.state_dir / "uplink-session.json").exists, 10, "the session marker"), hub.log_tail()
    broker.stop()
    sub.close()  # the platform is slower to come back than the hub
    call_id = hub.sim("press")["event_id"]
    hub.stop()
    (broker.root / "mosquitto.db").unlink()  # the broker comes back without its sessions
    broker.start()
    hub.start()
    wait_until(lambda: "holding the backlog" in hub.log_path.read_text(), 20, hub.log_tail)
    assert "has no session for this hub" in hub.log_path.read_text(), hub.log_tail()
    time.sleep(1.0)  # the platform re-subscribes 1 s later, within the 3 s hold
    sub = subscriber(f"{PREFIX}/test-0001/#")
    found = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 15)
    assert found is not None, hub.log_tail()


def test_a_first_connection_to_a_new_broker_is_not_held(make_hub, subscriber):
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub()
    assert wait_online(sub, "test-0001")
    assert "holding the backlog" not in hub.log_path.read_text()
    # The marker is written off the loop once CONNACK is in, while "online" may already be on its way
    marker = hub.state_dir / "uplink-session.json"
    assert wait_until(marker.exists, 10, f"{marker} written"), hub.log_tail()
