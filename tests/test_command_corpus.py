"""Whatever the broker delivers on cmd/#, the hub keeps working and nothing half-applies: deep nesting,
lone surrogates, 1 MB, retained and QoS 2 commands, wrong types, 10,000 garbage messages."""

from __future__ import annotations

import json
import random

import pytest
from schemas import assert_valid
from support import PREFIX, Subscriber, wait_until

pytestmark = pytest.mark.timeout(240)


def _pong(sub: Subscriber, nonce: int, timeout: float = 10) -> dict | None:
    return sub.wait_event("system.pong", timeout, request={"nonce": nonce})


def _garbage(rng: random.Random, i: int) -> tuple[str, bytes]:
    """A command no topic accepts (or, on cmd/ack, one naming no open call)."""
    topic = rng.choice(["ack", "ping", "away", "home", "selftest", "nope", "ack/x", ""])
    kind = i % 8
    if kind in (2, 3, 6):
        topic = "ack"
    if kind == 0:
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    elif kind == 1:
        payload = b"[" * rng.randint(17, 3000)
    elif kind == 2:
        payload = b'{"event_id": ' + rng.choice([b"5", b"null", b"[]", b'""', b"NaN", b"1e999"]) + b"}"
    elif kind == 3:
        payload = b'{"event_id": "x", "by": "\\ud8' + b"%02x" % rng.randint(0, 255) + b'"}'
    elif kind == 4:
        payload = b'{"a": ' * rng.randint(1, 40)
    elif kind == 5:
        payload = json.dumps(rng.choice([[1], "s", 3, None, True])).encode()
    elif kind == 6:
        payload = b'{"event_id": "' + bytes(rng.choice(b"\\\"{}[]") for _ in range(8)) + b'"}'
    else:
        payload = b"\xff\xfe" + b"x" * rng.randint(0, 100)
    return topic, payload


def test_hostile_commands_leave_the_hub_answering_and_nothing_half_applied(make_hub, subscriber, broker):
    # A retained cmd/away waiting on the broker before the hub first subscribes: it must not run.
    early = subscriber(f"{PREFIX}/none")
    early.client.publish(f"{PREFIX}/test-0001/cmd/away", b"{}", qos=1, retain=True).wait_for_publish(5)
    # This subscriber hears events only: a test client on cmd/# would spend a minute on the garbage.
    sub = subscriber(f"{PREFIX}/test-0001/event/#")
    hub = make_hub()
    wait_until(lambda: hub.status()["state"] == "online", 20, "the hub online")
    cmd = f"{PREFIX}/test-0001/cmd/"
    call_id = hub.sim("press")["event_id"]
    assert sub.wait_event("call.raised", 5)

    # Deep nesting on both core commands, at QoS 1: once wedged paho's read loop for good.
    for name in ("ack", "ping"):
        sub.publish(cmd + name, b"[" * 2048)
    # A command whose text holds a lone surrogate is refused whole (an ack's texts are cleaned instead:
    # tests/test_alarm_restart_e2e.py), so away mode must not be set.
    sub.publish(cmd + "away", b'{"by": "\\ud800"}')
    sub.publish(cmd + "ack", json.dumps({"event_id": call_id, "by": 7}))
    sub.publish(cmd + "ack", b"x" * 1_000_000)
    sub.publish(cmd + "ping", b'{"n": NaN}')
    sub.publish(cmd + "ping", b'{"n": 1e999}')
    sub.publish(cmd + "away", b"[]")
    sub.publish(cmd + "ping", json.dumps({"nonce": 1}), qos=2)
    pong = _pong(sub, 1)
    assert pong is not None, hub.log_tail()
    assert_valid(pong)
    status = hub.status()
    assert [c["call_id"] for c in status["open_calls"]] == [call_id], "the call must still be open"
    assert status["inactivity"]["away"] is False, "the retained cmd/away ran"
    assert sub.events("call.acknowledged") == [] and "call_acknowledged" not in json.dumps(hub.spoken())
    pongs = sub.events("system.pong")
    assert len(pongs) == 1, "NaN / Infinity must not be echoed, nor a QoS 2 ping answered twice"
    log = hub.log_path.read_text()
    assert "ignored retained command" in log and "nested 2048 deep" in log and "lone surrogate" in log

    # 10,000 garbage messages, as fast as the broker takes them.
    rng = random.Random(11)
    infos = [sub.client.publish(cmd + topic, payload, qos=1)
             for topic, payload in (_garbage(rng, i) for i in range(10_000))]
    infos[-1].wait_for_publish(60)
    # A call while the hub is still wading through them goes out at once.
    second = hub.sim("press", "--button", "27")["event_id"]
    assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == second, 5), hub.log_tail()
    sub.publish(cmd + "ping", json.dumps({"nonce": 2}))
    assert _pong(sub, 2, 120) is not None, hub.log_tail()
    status = hub.status()
    assert [c["call_id"] for c in status["open_calls"]] == [call_id, second]
    assert status["inactivity"]["away"] is False
    # The log is rate-limited: not one line per garbage message.
    ignored = hub.log_path.read_text().count("ignored platform command")
    assert ignored < 200, f"{ignored} log lines for 10,000 ignored commands"

    # The real ack still works afterwards.
    sub.publish(cmd + "ack", json.dumps({"event_id": call_id, "by": "operator"}))
    acked = sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked is not None and acked["data"]["by"] == "operator"
