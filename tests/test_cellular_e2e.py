"""The cellular second path end to end: a real hub in simulation with the EC25-class modem model on a real
pty, and a real mosquitto that goes away. Broker stopped -> press -> an SMS at the modem within
`sms_after_s`, carrying the event id; the duty officer replies "1" -> acknowledged, and the resident
hears it; broker back -> the platform receives the call and its acknowledgement, in order, via "sms"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas import assert_valid
from support import PREFIX, Broker, HubProcess, Subscriber, spoken_keys, wait_online, wait_spoken, wait_until

DUTY = "+8613800138000"
MODEM = f'[modem]\nport = "/dev/ttyUSB2"\nsms_numbers = ["{DUTY}", "+8613900139000"]\nsms_after_s = 5\n'



def _sent(hub: HubProcess) -> list[dict[str, str]]:
    return list(hub.sim("modem", "status")["sent"])


def test_broker_down_the_call_goes_by_sms_and_a_reply_acknowledges_it(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra=MODEM, hub_extra='resident_ref = "R-0042"')
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (hub.status().get("cellular") or {}).get("registration") == "home", 20, hub.status)

    broker.stop()
    call_id = hub.sim("press", "--button", "17")["event_id"]
    sent = wait_until(lambda: len(_sent(hub)) >= 2 and _sent(hub), 30)
    assert sent, hub.log_tail()
    assert [s["to"] for s in sent] == [DUTY, "+8613900139000"]
    text = sent[0]["text"]
    assert text.startswith("【一键呼】紧急呼叫 R-0042 ") and f"终端test-0001 #{call_id.replace('-', '')[:8]} " in text
    assert text.endswith(f"回复1#{call_id[:4]}确认") and len(text) <= 70
    assert wait_spoken(hub, "cellular_sms_sent"), spoken_keys(hub)

    # A text from someone else, and a reply that is not "1", change nothing.
    hub.sim("modem", "sms", "+8613700137000", "1")
    hub.sim("modem", "sms", DUTY, "谁？")
    log = lambda: hub.log_path.read_text(errors="replace")  # noqa: E731 - the hub's word that it read each text
    wait_until(lambda: "短信确认被拒绝" in log() and log().count("短信不是确认") >= 1, 15, hub.log_tail)
    assert [c["call_id"] for c in hub.status()["open_calls"]] == [call_id]

    hub.sim("modem", "sms", DUTY, "1 收到，马上到")  # not "1": a message for a person, no acknowledgement
    wait_until(lambda: log().count("短信不是确认") >= 2, 15, hub.log_tail)
    assert [c["call_id"] for c in hub.status()["open_calls"]] == [call_id]
    hub.sim("modem", "sms", DUTY, "１")
    wait_until(lambda: hub.status()["open_calls"] == [], 15, hub.log_tail)
    assert wait_spoken(hub, "call_acknowledged"), spoken_keys(hub)
    # the acked call is not texted again; the duty officer who wrote back in words was told once how to ack
    hint = f"【一键呼】您的回复没有确认报警#{call_id[:4]}，求助仍在等待处理。确认请只回复1#{call_id[:4]}"
    assert [(s["to"], s["text"]) for s in hub.sim("modem", "status")["sent"]] == \
        [(s["to"], s["text"]) for s in sent] + [(DUTY, hint)]

    broker.start()
    acked = sub.wait_event("call.acknowledged", 30, call_id=call_id)
    assert acked is not None, hub.log_tail()
    assert_valid(acked)
    assert acked["data"]["via"] == "sms" and acked["data"]["by"] == DUTY
    assert acked["data"]["message"] == "１"
    assert sub.wait_event("sms.received", 10, text="1 收到，马上到") is not None
    refused, received = sub.wait_event("sms.refused", 10), sub.events("sms.received")
    assert refused is not None and refused["data"]["reason"] == "stranger"
    assert refused["data"]["from"] == "+86*******7000"
    assert [e["data"]["text"] for e in received] == ["谁？", "1 收到，马上到"]
    for event in (refused, *received):
        assert_valid(event)
    raised = next(e for e in sub.events("call.raised") if e["id"] == call_id)
    assert raised["seq"] < acked["seq"]
    # not before sms_after_s; promptly after it (both times the hub's own: the call's, the modem's +CMGS)
    texted_after = sent[0]["at"] - datetime.fromisoformat(raised["ts"]).timestamp()
    assert 5 <= texted_after < 15, texted_after


def test_modem_faults_are_in_status_and_a_refused_sms_is_retried(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    # The test waits out the retry after a refused SMS ([modem] sms_retry_s, default 30 s) and, for the
    # reset below (on the module's next command), the next status poll (poll_s, default 60 s): both at their minimum.
    hub = make_hub(extra=MODEM.replace(', "+8613900139000"', "") + "sms_retry_s = 5\npoll_s = 10\n")
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (hub.status().get("cellular") or {}).get("modem") == "ok", 20, hub.status)

    hub.sim("modem", "fault", "sms")  # the network refuses every SMS
    broker.stop()
    hub.sim("press", "--button", "27")
    err = wait_until(lambda: (hub.status().get("cellular") or {}).get("error"), 30)
    assert err and "CMS ERROR: 500" in err, hub.status().get("cellular")
    assert _sent(hub) == []
    assert "cellular_sms_sent" not in spoken_keys(hub)  # never told help was reached when it was not
    hub.sim("modem", "fault", "clear")
    sent = wait_until(lambda: _sent(hub), 45)  # retried after sms_retry_s
    assert sent and "健康咨询" in sent[0]["text"], hub.log_tail()

    hub.sim("modem", "sim", "absent")
    hub.sim("modem", "fault", "reset")  # the module restarts: the hub sets it up again and sees no SIM
    wait_until(lambda: (hub.status().get("cellular") or {}).get("sim") == "absent", 120,
               lambda: hub.status().get("cellular"))
    broker.start()


def test_broker_down_sms_then_a_modem_call_and_the_duty_officer_presses_1(
        make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber], broker: Broker) -> None:
    sub = subscriber(f"{PREFIX}/test-0001/#")
    voice = f'[voice_call]\ntargets.emergency = [{{ who = "duty", uri = "tel:{DUTY}", timeout_s = 30 }}]\n'
    hub = make_hub(extra=MODEM.replace(', "+8613900139000"', "") + voice)
    assert wait_online(sub, "test-0001"), hub.log_tail()
    wait_until(lambda: (hub.status().get("cellular") or {}).get("dtmf"), 20, hub.status)
    # The duty officer's phone rings past sms_after_s (the text goes first), then they pick up and press 1.
    hub.sim("modem", "callee", DUTY, "answer", "--after", "12", "--press", "1", "--hang-up-after", "20")

    broker.stop()
    call_id = hub.sim("press", "--button", "17")["event_id"]
    wait_until(lambda: hub.sim("modem", "status")["call"], 10, hub.log_tail)  # ringing by the modem
    assert "by the 4G modem" in str(hub.status().get("voice_call")), hub.status().get("voice_call")
    wait_until(lambda: _sent(hub), 20, hub.log_tail)
    assert not hub.sim("modem", "status")["calls"]  # texted while the phone still rings
    wait_until(lambda: hub.status()["open_calls"] == [], 30, hub.log_tail)
    # The 1 acknowledges the call first; the hub hangs up (AT+CHUP) after, and only then has the modem a
    # record of the call: wait for it rather than read it in the same instant.
    (call,) = wait_until(lambda: hub.sim("modem", "status")["calls"], 10, hub.log_tail)
    assert call["number"] == DUTY and call["answered"] and call["keys"] == "1"
    assert wait_spoken(hub, "call_acknowledged"), spoken_keys(hub)  # said after the ack, once played
    keys = spoken_keys(hub)
    assert keys.index("voice_dialing_duty") < keys.index("cellular_sms_sent") < keys.index("voice_phoned_duty") \
        < keys.index("call_acknowledged")

    broker.start()
    acked = sub.wait_event("call.acknowledged", 30, call_id=call_id)
    assert acked is not None, hub.log_tail()
    assert_valid(acked)
    assert acked["data"]["via"] == "voice" and acked["data"]["by"] == DUTY
    ended = sub.wait_event("voice.ended", 30)
    assert ended is not None and ended["data"]["reason"] == "acknowledged" and ended["data"]["via"] == "modem"
    started = next(e for e in sub.events("voice.started"))
    raised = next(e for e in sub.events("call.raised") if e["id"] == call_id)
    for event in (ended, started, raised):
        assert_valid(event)
    assert raised["seq"] < started["seq"] < acked["seq"] < ended["seq"]
