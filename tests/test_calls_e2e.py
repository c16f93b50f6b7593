"""The core contract end to end: a simulated hub, a real mosquitto, calls through the GPIO chip model's lines."""

from __future__ import annotations

import json

import pytest
from schemas import assert_valid, assert_valid_as
from support import PREFIX, round_trip, wait_online, wait_spoken, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.any_broker]


def test_press_raises_a_schema_valid_call_on_its_topic(hub_env):
    out = hub_env.hub.cli("sim", "press", "--button", "27")
    assert out.returncode == 0, out.stderr
    first_line = out.stdout.splitlines()[0]
    assert first_line.startswith("event_id: ")
    call_id = first_line.split(": ")[1]
    found = hub_env.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 5)
    assert found, hub_env.hub.log_tail()
    _, topic, body = found
    assert topic == f"{PREFIX}/test-0001/event/call"
    assert body["type"] == "call.raised" and {k: v for k, v in body["data"].items() if k != "context"} == {
        "kind": "health", "button": 27}
    assert body["data"]["context"]["trigger"]["countdown"] == "asked_for_help"  # the alarm context card
    assert body["hub"] == "test-0001" and body["v"] == 1
    assert_valid(body)
    # "正在呼叫社区" is said once the hub has the broker's PUBACK, which may come after we have the call
    assert wait_spoken(hub_env.hub, "call_raising"), hub_env.hub.spoken()


def test_ack_closes_the_call_and_tells_the_resident(hub_env):
    call_id = hub_env.hub.sim("press", "--button", "17")["event_id"]
    assert hub_env.sub.wait_event("call.raised", 5)
    hub_env.sub.publish(hub_env.topic("cmd/ack"), json.dumps({"event_id": call_id, "by": "operator-7",
                                                              "message": "马上到"}))
    acked = hub_env.sub.wait_event("call.acknowledged", 5, call_id=call_id)
    assert acked and acked["data"]["by"] == "operator-7" and acked["data"]["message"] == "马上到"
    assert_valid(acked)
    assert hub_env.hub.status()["open_calls"] == []
    # The resident hears that staff have the call: a login ("operator-7") is never spoken (docs/voice.md).
    told = wait_spoken(hub_env.hub, "call_acknowledged")
    assert told and told["text"] == "社区已收到，工作人员马上联系您"


def test_second_press_on_an_open_call_repeats_the_prompt_without_a_second_call(hub_env):
    first = hub_env.hub.sim("press", "--button", "22")
    again = hub_env.hub.sim("press", "--button", "22")
    assert again["outcome"] == "repeat" and again["call_id"] == first["event_id"]
    assert hub_env.sub.wait_event("call.raised", 10)
    round_trip(hub_env.sub)  # the hub is past both presses: a second call would have reached us by now
    assert len(hub_env.sub.events("call.raised")) == 1
    assert "call_repeat" in [u["key"] for u in hub_env.hub.spoken()]


def test_hold_within_guard_window_cancels(hub_env):
    call_id = hub_env.hub.sim("press", "--button", "23")["event_id"]
    held = hub_env.hub.sim("press", "--button", "23", "--hold", "3.3")
    assert held["after_hold"] == "cancelled"
    cancelled = hub_env.sub.wait_event("call.cancelled", 5, call_id=call_id)
    assert cancelled, hub_env.hub.log_tail()
    assert_valid(cancelled)
    assert len(hub_env.sub.events("call.raised")) == 1


def test_first_press_held_long_is_not_a_cancel(hub_env):
    out = hub_env.hub.sim("press", "--button", "17", "--hold", "3.5")
    assert out["outcome"] == "raised" and out["after_hold"] == "none"
    assert hub_env.sub.wait_event("call.raised", 10)
    round_trip(hub_env.sub)
    assert hub_env.sub.events("call.cancelled") == []


def test_no_ack_escalates_and_keeps_announcing(make_hub, subscriber):
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra="[calls]\nack_timeout_s = 1.0\nreannounce_s = 1.0\n")
    assert wait_online(sub, "test-0001")
    call_id = hub.sim("press")["event_id"]
    escalated = sub.wait_event("call.escalated", 5, call_id=call_id)
    assert escalated and escalated["data"]["after_s"] == 1.0
    assert_valid(escalated)
    # one merged reminder, then the back-off's first step (reannounce_s) after its end
    wait_until(lambda: [u["key"] for u in hub.spoken()].count("alarm_reminder") >= 2, 15, "a second reminder")


def test_status_is_retained_with_version_and_queue_depth(hub_env, subscriber):
    late = subscriber(f"{PREFIX}/test-0001/status", client_id="late-joiner")
    found = late.wait_for(lambda m: isinstance(m[2], dict), 5)
    assert found and found[2]["state"] == "online"
    assert_valid_as("status", found[2])


def test_ping_answers_with_pong(hub_env):
    hub_env.sub.publish(hub_env.topic("cmd/ping"), json.dumps({"nonce": 42}))
    pong = hub_env.sub.wait_event("system.pong", 5)
    assert pong and pong["data"]["request"] == {"nonce": 42}
    assert_valid(pong)


MALFORMED = [("not-json", "ack", b"not json"), ("wrong-type", "ack", b'{"event_id": 5}'),
             ("unknown-id", "ack", b'{"event_id": "no-such-event"}'), ("array", "ack", b"[1, 2]"),
             ("binary", "ping", b"\xff\xfe"), ("1MB", "ack", b"x" * 1_000_000), ("unknown-topic", "bogus", b"{}"),
             ("sub-topic", "ack/extra", b"{}")]


def test_malformed_commands_are_ignored_and_the_queue_kept(hub_env):
    """Each malformed command in turn reaches a hub with a call that waited out an outage in its queue; after
    each (a ping round trip later) the hub lives, said it ignored it, and the call is still open. One hub for
    the eight: a hub and an outage per command (16 of them with both brokers) exercised the same path."""
    hub_env.broker.stop()
    queued = hub_env.hub.sim("press", "--button", "17")["event_id"]
    hub_env.broker.start()
    assert hub_env.sub.wait_event("call.raised", 30), hub_env.hub.log_tail()
    for name, suffix, payload in MALFORMED:
        ignored = hub_env.hub.log_path.read_text().count("ignored platform command")
        hub_env.sub.publish(hub_env.topic(f"cmd/{suffix}"), payload)
        round_trip(hub_env.sub)  # the hub has taken in the malformed command (and lived)
        assert hub_env.hub.alive(), (name, hub_env.hub.log_tail())
        assert hub_env.hub.log_path.read_text().count("ignored platform command") > ignored or name == "unknown-id", \
            (name, hub_env.hub.log_tail())
        assert [c["call_id"] for c in hub_env.hub.status()["open_calls"]] == [queued], name
    second = hub_env.hub.sim("press", "--button", "27")["event_id"]
    assert hub_env.sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == second, 5)
