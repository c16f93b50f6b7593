"""A half-open link (a proxy that silently swallows bytes) is noticed within the documented bound, the
resident hears "saved, sending" rather than "calling", and every call is delivered afterwards."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from mqtt_faults import BlackHoleProxy
from support import (
    PREFIX,
    HubProcess,
    Subscriber,
    spoken_keys,
    wait_online,
    wait_spoken,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.timeout(120)


def _hub_behind_proxy(tmp_path, broker, keepalive: int) -> tuple[BlackHoleProxy, Subscriber, HubProcess]:
    proxy = BlackHoleProxy(broker.port)
    sub = Subscriber(broker.port, f"{PREFIX}/test-0001/#")
    cfg = write_config(tmp_path / "hub" / "hub.toml", proxy.port, mqtt_extra=f"keepalive_s = {keepalive}\n")
    hub = HubProcess(cfg).start()
    assert wait_online(sub, "test-0001"), hub.log_tail()
    return proxy, sub, hub


def _arrived(sub: Subscriber, event_id: str, timeout: float) -> bool:
    return sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == event_id, timeout) is not None


def test_a_call_on_a_half_open_link_is_noticed_and_delivered(tmp_path, broker):
    # keepalive 120 s: paho alone would notice after up to 4 minutes; the defaults puback_timeout_s
    # = ping_timeout_s = 5 s bound it to 5 + 5 + 2 s (one-second checks) after the press.
    proxy, sub, hub = _hub_behind_proxy(tmp_path, broker, keepalive=120)
    try:
        first = hub.sim("press")["event_id"]
        assert _arrived(sub, first, 5)
        # The broker sends the call on and its PUBACK back at once: cut the link only once the hub has the
        # PUBACK ("正在呼叫" is said then), or the first call too is "saved, sending" and the test of another one
        assert wait_spoken(hub, "call_raising"), spoken_keys(hub)
        proxy.black_hole()
        pressed = time.monotonic()
        second = hub.sim("press", "--button", "27")["event_id"]
        third = hub.sim("press", "--button", "22")["event_id"]
        assert _arrived(sub, second, 30) and _arrived(sub, third, 5), hub.log_tail()
        noticed = time.monotonic() - pressed
        assert noticed < 12 + 3, f"took {noticed:.1f} s"  # the documented bound, plus the reconnect
        assert proxy.connections == 2
        log = hub.log_path.read_text()
        assert "the link is dead; reconnecting" in log
        # The first call went through at once; the others were "saved, sending" until their PUBACK,
        # and "calling" once the broker had them.
        keys = wait_until(lambda: next((k for k in [spoken_keys(hub)] if k.count("call_raising") >= 3), None), 15,
                          lambda: f"call_raising 3x; spoken: {spoken_keys(hub)}")
        assert keys[0] == "call_raising" and keys.count("call_raising") == 3, keys
        assert keys.index("call_sending") < keys.index("call_raising", 1), keys
        # delivered rows leave the outbox in a batch, shortly after
        wait_until(lambda: hub.status()["queue_depth"] == 0, 5, "an empty queue")
        assert hub.status()["state"] == "online"
    finally:
        hub.stop()
        sub.close()
        proxy.close()


def test_a_call_is_noticed_lost_though_the_broker_s_last_bytes_arrived_after_it_left(tmp_path, broker):
    """The link dies under a call while the broker's last bytes (here an operator's stray ack) are still on
    their way to the hub: heard after the call left, they were taken for proof the link carried it, and the
    hub waited for the idle probe (half the 120 s keepalive) instead of its PUBACK deadline."""
    proxy, sub, hub = _hub_behind_proxy(tmp_path, broker, keepalive=120)
    try:
        proxy.black_hole_upstream()  # the hub's bytes no longer reach the broker
        pressed = time.monotonic()
        call = hub.sim("press")["event_id"]
        stray = str(uuid.uuid4())
        sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": stray, "by": "duty01"}))
        wait_until(lambda: stray in hub.log_path.read_text(), 10, hub.log_tail)  # the hub heard it, after the call
        assert _arrived(sub, call, 30), hub.log_tail()
        noticed = time.monotonic() - pressed
        assert noticed < 12 + 3, f"took {noticed:.1f} s"  # the documented bound, plus the reconnect
        assert "the link is dead; reconnecting" in hub.log_path.read_text()
    finally:
        hub.stop()
        sub.close()
        proxy.close()


def test_an_idle_half_open_link_is_noticed_within_half_the_keepalive_plus_the_ping_timeout(tmp_path, broker):
    proxy, sub, hub = _hub_behind_proxy(tmp_path, broker, keepalive=10)
    try:
        proxy.black_hole()
        cut = time.monotonic()
        wait_until(lambda: proxy.connections >= 2, 30, hub.log_tail)
        assert proxy.connections == 2, hub.log_tail()
        took = time.monotonic() - cut
        assert took < 10 / 2 + 5 + 2 + 3, f"took {took:.1f} s"  # keepalive/2 + ping timeout + checks + slack
        call = hub.sim("press")["event_id"]
        assert _arrived(sub, call, 10), hub.log_tail()
    finally:
        hub.stop()
        sub.close()
        proxy.close()
