"""The escalation chain end to end: a real hub in simulation, a real mosquitto whose platform never
acknowledges, and the EC25-class modem model on a real pty. After `after_s` the duty desk is texted and
called (it answers but never presses 1), nobody acknowledges within the step's wait, the daughter is
texted, replies "1" -> the alarm is acknowledged via SMS, the chain ends, and the resident hears who is
coming. Every step is an event, in order, valid against its schema. Then the same chain with the hub
killed mid-step: it resumes where it was and texts nobody twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, wait_online, wait_until

DUTY, DAUGHTER = "+8613800138000", "+8613900139000"
CONFIG = f"""
[calls]
ack_timeout_s = 600

[resident]
reference = "R-0042"
address_ref = "B3-1202"
motion_room = "客厅"

[modem]
port = "/dev/ttyUSB2"
call_listen_s = 10

[escalation]
enabled = true
after_s = 10
steps = [
  {{ role = "duty", name = "社区值班员", sms = ["{DUTY}"], call = ["{DUTY}"], wait_s = 30, ring_s = 15 }},
  {{ role = "family", name = "女儿", sms = ["{DAUGHTER}"], wait_s = 120, comes = true }},
]
"""



def _steps(sub: Subscriber, alarm_id: str) -> list[dict[str, Any]]:
    """The chain's step events, once each: a hub killed before its PUBACK's delete was on disk sends an
    event again after the restart, with the same id (the platform de-duplicates by id)."""
    unique = {e["id"]: e for e in sub.events("escalation.step") if e["data"]["event_id"] == alarm_id}
    return sorted(unique.values(), key=lambda e: (e["ts"], e["seq"]))


def _start(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]) -> tuple[HubProcess, Subscriber]:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra=CONFIG)
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (hub.status().get("cellular") or {}).get("registration") == "home", 20, hub.status)
    return hub, sub


def test_platform_never_acks_duty_then_daughter_who_replies_1(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    hub, sub = _start(make_hub, subscriber)
    hub.sim("motion")  # a sign of life in the living room before the press: the card's last motion
    call_id = hub.sim("press", "--button", "17")["event_id"]

    raised = sub.wait_event("call.raised", 10)
    assert raised is not None and raised["id"] == call_id
    assert_valid(raised)
    card = raised["data"]["context"]
    assert card["trigger"] == {"by": "button", "detail": "emergency button GPIO17", "countdown": "asked_for_help",
                               "waited_s": None}
    assert card["last_motion"]["room"] == "客厅"
    assert card["resident"] == {"reference": "R-0042", "address_ref": "B3-1202", "contacts_ref": "", "notes": ""}

    # Duty desk: texted and called after after_s; it answers but nobody presses 1.
    duty_voice = wait_until(lambda: [e for e in _steps(sub, call_id) if e["data"]["channel"] == "voice"], 60)
    assert duty_voice, hub.log_tail()
    sent = hub.sim("modem", "status")["sent"]
    assert [s["to"] for s in sent] == [DUTY]
    text = sent[0]["text"]
    assert text.startswith("【一键呼】紧急呼叫 R-0042 ") and f"#{call_id.replace('-', '')[:8]} 动:客厅" in text
    assert text.endswith(f"回复1#{call_id[:4]}确认") and len(text) <= 70
    status = hub.status()["escalation"]
    assert status["chains"][0]["event_id"] == call_id and status["chains"][0]["role"] == "duty"

    # No ack within the duty step's wait: the daughter is texted.
    wait_until(lambda: len(hub.sim("modem", "status")["sent"]) == 2, 60, hub.log_tail)
    daughter = hub.sim("modem", "status")["sent"][1]
    assert (daughter["to"], daughter["text"]) == (DAUGHTER, text)
    hub.sim("modem", "sms", DAUGHTER, "1 马上到")  # a message for a person: forwarded, not an acknowledgement
    received = sub.wait_event("sms.received", 20)
    assert received is not None and received["data"] == {"from": "+86*******9000", "known": True,
                                                          "text": "1 马上到"}, received
    assert_valid(received)
    assert hub.status()["open_calls"] != []
    hub.sim("modem", "sms", DAUGHTER, "1")

    ended = sub.wait_event("escalation.ended", 20)
    assert ended is not None, hub.log_tail()
    acked = sub.wait_event("call.acknowledged", 5, call_id=call_id)
    assert acked is not None and acked["data"]["via"] == "sms" and acked["data"]["by"] == DAUGHTER
    assert ended["data"]["outcome"] == "acknowledged" and ended["data"]["via"] == "sms"
    assert (ended["data"]["role"], ended["data"]["name"], ended["data"]["step"]) == ("family", "女儿", 1)
    assert ended["data"]["steps_reached"] == 2 and ended["data"]["seconds"] >= 40

    ours = ("call.raised", "escalation.step", "call.acknowledged", "escalation.ended")
    events = [e for e in sub.events() if e["type"] in ours]
    for e in events:
        assert_valid(e)
    summary = [(e["type"], e["data"].get("step"), e["data"].get("channel"), e["data"].get("outcome"))
               for e in events]
    assert summary == [("call.raised", None, None, None),
                       ("escalation.step", 0, "sms", "sent"),
                       ("escalation.step", 0, "voice", "answered"),
                       ("escalation.step", 1, "sms", "sent"),
                       ("call.acknowledged", None, None, None),
                       ("escalation.ended", 1, None, "acknowledged")]
    seconds = [e["data"]["seconds"] for e in events if e["type"] == "escalation.step"]
    assert 10 <= seconds[0] <= seconds[1] < 40 <= seconds[2]  # after_s, then the duty step's wait_s

    spoken = [(u["key"], u["text"]) for u in hub.spoken()]
    assert spoken == [("call_raising", "正在呼叫社区，请稍候"),
                      ("escalation_notifying", "社区还没有回应，正在通知社区值班员"),
                      ("escalation_answered", "电话已打通，正在等待对方确认"),
                      ("escalation_notifying", "社区还没有回应，正在通知女儿"),
                      ("escalation_coming", "女儿已收到，正在赶来帮您")], spoken
    assert hub.status()["escalation"]["chains"] == [] and hub.status()["open_calls"] == []


def test_a_chain_killed_mid_step_resumes_and_texts_nobody_twice(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    hub, sub = _start(make_hub, subscriber)
    call_id = hub.sim("press", "--button", "17")["event_id"]
    # The duty desk has its text; the hub loses power while their phone rings.
    wait_until(lambda: _steps(sub, call_id), 40, hub.log_tail)
    wait_until(lambda: (hub.status().get("cellular") or {}).get("call"), 10, lambda: hub.status().get("cellular"))
    hub.kill9()
    hub.start()

    # The interrupted call is reported, not repeated; the chain waits out the duty step, then the daughter.
    interrupted = wait_until(lambda: [e for e in _steps(sub, call_id) if e["data"]["outcome"] == "interrupted"], 20)
    assert interrupted and interrupted[0]["data"]["channel"] == "voice", hub.log_tail()
    wait_until(lambda: hub.sim("modem", "status")["sent"], 60, hub.log_tail)
    assert [s["to"] for s in hub.sim("modem", "status")["sent"]] == [DAUGHTER]  # the duty desk is not re-texted
    # The modem has the daughter's text; the step event that reports it follows through the broker.
    wait_until(lambda: len(_steps(sub, call_id)) >= 3, 10, hub.log_tail)
    summary = [(e["data"]["step"], e["data"]["channel"], e["data"]["outcome"]) for e in _steps(sub, call_id)]
    assert summary == [(0, "sms", "sent"), (0, "voice", "interrupted"), (1, "sms", "sent")]

    # The platform acknowledges at last: the chain ends, via the platform.
    sub.publish(f"{PREFIX}/test-0001/cmd/ack", f'{{"event_id": "{call_id}", "by": "王芳"}}')
    ended = sub.wait_event("escalation.ended", 20)
    assert ended is not None and ended["data"]["outcome"] == "acknowledged", hub.log_tail()
    assert ended["data"]["via"] == "platform" and ended["data"]["by"] == "王芳"
    assert_valid(ended)


def test_a_call_the_resident_cancels_mid_chain_stops_it(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    # A long guard window, so the resident can still cancel once the chain has started.
    hub = make_hub(extra=CONFIG.replace("ack_timeout_s = 600", "ack_timeout_s = 600\nguard_s = 60"))
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (hub.status().get("cellular") or {}).get("registration") == "home", 20, hub.status)
    call_id = hub.sim("press", "--button", "17")["event_id"]
    wait_until(lambda: (hub.status().get("cellular") or {}).get("call"), 40, hub.log_tail)  # duty rings

    hub.sim("press", "--button", "17", "--hold", "3.5")  # she holds the button: "已取消呼叫"
    assert sub.wait_event("call.cancelled", 15, call_id=call_id) is not None, hub.log_tail()
    ended = sub.wait_event("escalation.ended", 15)
    assert ended is not None and ended["data"]["outcome"] == "withdrawn", hub.log_tail()
    assert_valid(ended)
    summary = [(e["data"]["step"], e["data"]["channel"], e["data"]["outcome"]) for e in _steps(sub, call_id)]
    assert summary == [(0, "sms", "sent"), (0, "voice", "stopped")]  # the duty desk's phone stops ringing
    assert not (hub.status().get("cellular") or {}).get("call")
    assert hub.status()["escalation"]["chains"] == []
    assert "escalation_coming" not in [u["key"] for u in hub.spoken()]
