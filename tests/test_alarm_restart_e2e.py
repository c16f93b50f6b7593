"""Open alarms survive a power cut (SIGKILL of the hub's process group) and never half-apply an ack.

The open-alarm state is in the outbox database, committed with the event that changes it: after the
kill the restarted hub still knows the call, goes on escalating it and honours a late ack aloud; an
ack whose commit fails changes nothing and can be repeated.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable

import pytest
from schemas import assert_valid
from support import FALL_PARTS, PREFIX, HubProcess, Subscriber, online_hub, wait_online, wait_spoken, wait_until

pytestmark = pytest.mark.timeout(150)

VOICE_OFF = "[voice]\nenabled = false\n"
ESCALATE = VOICE_OFF + "[calls]\nack_timeout_s = 1.0\nreannounce_s = 1.0\n"


def restart(hub: HubProcess, sub: Subscriber) -> None:
    """Power back: the same config and state dir, a new process."""
    with sub.lock:
        sub.messages.clear()
    hub.start()
    assert wait_online(sub, "test-0001"), hub.log_tail()


def ack(sub: Subscriber, event_id: str, by: str = "operator-5", **extra: str) -> None:
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", json.dumps({"event_id": event_id, "by": by, **extra}))


def test_escalated_call_survives_a_kill_keeps_escalating_and_a_late_ack_is_spoken(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]) -> None:
    hub, sub = online_hub(make_hub, subscriber, ESCALATE)
    call_id = hub.sim("press", "--button", "17")["event_id"]
    escalated = sub.wait_event("call.escalated", 10, call_id=call_id)
    assert escalated, hub.log_tail()
    hub.kill9()
    restart(hub, sub)
    (call,) = hub.status()["open_calls"]
    assert call["call_id"] == call_id and call["escalated"] is True
    (alarm,) = hub.status()["open_alarms"]
    assert alarm["alarm_id"] == call_id and alarm["escalated"] is True and alarm["acknowledged"] is False
    # The resident goes on hearing that the community has not answered yet; no second escalation.
    assert wait_spoken(hub, "alarm_reminder"), hub.log_tail()
    ack(sub, call_id)
    acked = sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked and acked["data"]["kind"] == "emergency" and acked["data"]["button"] == 17
    assert_valid(acked)
    told = wait_spoken(hub, "call_acknowledged")  # "operator-5" is a login: the resident hears 工作人员
    assert told and "operator" not in told["text"], hub.spoken()
    assert hub.status()["open_calls"] == [] and hub.status()["open_alarms"] == []
    # Escalated once, before the kill (a re-send of that event, not yet deleted at the kill, is allowed:
    # delivery is at least once, de-duplicated by id).
    assert {e["id"] for e in sub.events("call.escalated")} <= {escalated["id"]}
    assert "unknown or closed event" not in hub.log_path.read_text()


def test_call_killed_right_after_its_commit_escalates_after_restart(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, VOICE_OFF + "[calls]\nack_timeout_s = 4.0\nreannounce_s = 1.0\n")
    pressed = time.time()
    call_id = hub.sim("press", "--button", "22")["event_id"]  # returns once call.raised is committed
    hub.kill9()
    restart(hub, sub)
    assert [c["call_id"] for c in hub.status()["open_calls"]] == [call_id]
    found = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "call.escalated", 15)
    assert found, hub.log_tail()
    received, _, escalated = found
    assert escalated["data"]["call_id"] == call_id and escalated["data"]["after_s"] == 4.0
    assert received - pressed >= 3.9  # the wait counted from the press, across the restart
    assert wait_spoken(hub, "alarm_reminder")
    assert hub.status()["open_calls"][0]["escalated"] is True
    ack(sub, call_id)
    assert sub.wait_event("call.acknowledged", 10, call_id=call_id), hub.log_tail()


def test_fall_alarm_survives_a_kill_and_its_late_ack_is_spoken(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber,
                          VOICE_OFF + "[fall]\ncountdown_s = 1.0\nprompt_every_s = 1.0\n" + FALL_PARTS)
    hub.sim("fall")
    fall = sub.wait_event("alarm.fall", 10)
    assert fall, hub.log_tail()
    hub.kill9()
    restart(hub, sub)
    (alarm,) = hub.status()["open_alarms"]
    assert alarm["alarm_id"] == fall["id"] and alarm["type"] == "alarm.fall"
    ack(sub, fall["id"], by="李明")
    acked = sub.wait_event("alarm.acknowledged", 10, alarm_id=fall["id"])
    assert acked and acked["data"]["alarm_type"] == "alarm.fall"
    assert_valid(acked)
    told = wait_spoken(hub, "alarm_acknowledged_by", name="李明")
    assert told and told["text"] == "社区已收到，工作人员李明马上联系您"
    assert hub.status()["open_alarms"] == []


def test_open_calls_json_of_an_older_hub_is_moved_into_the_database_once(make_hub, subscriber) -> None:
    hub = make_hub(extra=VOICE_OFF, start=False)
    legacy = hub.state_dir / "open_calls.json"
    old_id = "0b6cbb53-6a4b-4a40-9d1c-3b1f4a1f6a11"
    legacy.write_text(json.dumps([{"id": old_id, "kind": "health", "button": 27,
                                   "ts": "2026-11-29T08:00:00.000+08:00", "raised_mono": 1.0, "escalated": True}]))
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub.start()
    assert wait_online(sub, "test-0001"), hub.log_tail()
    assert not legacy.exists() and legacy.with_name("open_calls.json.migrated").exists()
    (call,) = hub.status()["open_calls"]
    assert call == {"call_id": old_id, "kind": "health", "button": 27, "since": "2026-11-29T08:00:00.000+08:00",
                    "escalated": True, "acknowledged": False}
    hub.stop()
    restart(hub, sub)  # the file is gone: the call comes from the database now
    assert [c["call_id"] for c in hub.status()["open_calls"]] == [old_id]
    ack(sub, old_id)
    assert sub.wait_event("call.acknowledged", 10, call_id=old_id), hub.log_tail()


def test_ack_with_lone_surrogates_applies_whole(hub_env) -> None:
    call_id = hub_env.hub.sim("press", "--button", "27")["event_id"]
    # Valid JSON, not valid UTF-8 once decoded: a platform's text bug.
    hub_env.sub.publish(hub_env.topic("cmd/ack"),
                        b'{"event_id": "%s", "by": "\\ud800", "message": "on my way \\udfff"}' % call_id.encode())
    acked = hub_env.sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked, hub_env.hub.log_tail()
    assert_valid(acked)
    assert acked["data"]["by"] == "\ufffd" and acked["data"]["message"] == "on my way \ufffd"
    assert wait_spoken(hub_env.hub, "call_acknowledged")  # nothing sayable in the name: the plain prompt
    assert hub_env.hub.status()["open_calls"] == []


def test_an_ack_whose_commit_fails_changes_nothing_and_can_be_repeated(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, VOICE_OFF)
    call_id = hub.sim("press", "--button", "17")["event_id"]
    assert sub.wait_event("call.raised", 10)
    # Another writer holds the database: the ack's commit fails after SQLite's busy timeout.
    blocker = sqlite3.connect(hub.state_dir / "outbox.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        ack(sub, call_id)
        wait_until(lambda: "NOT applied" in hub.log_path.read_text(), 30, "the ack NOT applied (log)")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    (call,) = hub.status()["open_calls"]
    assert call["call_id"] == call_id and call["acknowledged"] is False
    assert "call_acknowledged" not in [u["key"] for u in hub.spoken()]
    assert sub.events("call.acknowledged") == []
    ack(sub, call_id)  # the platform repeats it
    acked = sub.wait_event("call.acknowledged", 10, call_id=call_id)
    assert acked, hub.log_tail()
    assert wait_spoken(hub, "call_acknowledged")
    assert hub.status()["open_calls"] == []
