"""The retained status follows the queue when it empties (hub.core.uplink.status): the console printed
"队列 queue 1" for up to a status interval after the operator's ack had been delivered, because the last
status was published while the ack's own row was still queued."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from support import PREFIX, HubProcess, Subscriber, wait_online, wait_until

pytestmark = pytest.mark.timeout(120)
STATUS = f"{PREFIX}/test-0001/status"


def statuses(sub: Subscriber, since: float) -> list[dict[str, object]]:
    with sub.lock:
        return [m[2] for m in sub.messages if m[1] == STATUS and m[0] >= since and isinstance(m[2], dict)]


def test_the_retained_status_shows_the_queue_empty_once_the_ack_is_delivered(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    # The slowest refresh there is: a status with the empty queue inside the wait below came from the
    # queue emptying, not (five times in six) from the tick.
    hub = make_hub(extra="[voice]\nenabled = false\n", mqtt_extra="status_interval_s = 60\n")
    assert wait_online(sub, "test-0001"), hub.log_tail()
    call_id = hub.sim("press", "--button", "17")["event_id"]
    assert sub.wait_event("call.raised", 10), hub.log_tail()
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": call_id, "by": "王芳"}))
    acked = sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked, hub.log_tail()
    delivered = time.time()  # the ack is at the platform: from here the hub's queue is empty
    wait_until(lambda: hub.status()["queue_depth"] == 0, 10, "the hub's own queue empty")
    wait_until(lambda: any(s.get("queue_depth") == 0 for s in statuses(sub, delivered)), 10,
               lambda: f"statuses since the ack: {[s.get('queue_depth') for s in statuses(sub, delivered)]}")
    # What a console that starts now reads: the retained status, with the queue empty and the call closed.
    late = subscriber(STATUS)
    wait_until(lambda: statuses(late, 0), 10, "the retained status")
    (retained,) = statuses(late, 0)
    assert retained["queue_depth"] == 0 and retained["open_alarms"] == [] and retained["state"] == "online"
    # One status for the emptied queue, not one per row: at most one a second since the ack.
    since = statuses(sub, delivered)
    assert 1 <= len(since) <= 2 + (time.time() - delivered), since
