"""Speech over SIP end to end: a simulated hub with a real baresip, real baresip far ends on loopback
(no SIP server: direct sip:user@127.0.0.1:port URIs), a real mosquitto. The far end plays one tone
pattern and records, the hub plays another (its "microphone" is a WAV) and records: audio must cross
both ways, and the events and spoken prompts must tell the story of each call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from schemas import assert_valid
from sipparty import SipParty, best_correlation, dominant_hz, need_baresip, read_wav, write_tone
from support import online_hub, spoken_keys, wait_until

from drivers.sip.agent import free_sip_port

pytestmark = pytest.mark.timeout(180)
HUB_TONES = (1000.0, 1500.0)
DESK_TONES = (440.0, 660.0)


@pytest.fixture
def parties(tmp_path: Path):
    need_baresip()
    made: list[SipParty] = []
    tone = write_tone(tmp_path / "desk.wav", DESK_TONES)

    def make(user: str) -> SipParty:
        party = SipParty(tmp_path, user, tone).start()
        made.append(party)
        return party

    yield make
    for party in made:
        party.stop()


def voice_config(tmp_path: Path, targets: str = "", extra: str = "") -> tuple[str, str]:
    port = free_sip_port()
    account = f"sip:hub@127.0.0.1:{port}"
    tone = write_tone(tmp_path / "hub-mic.wav", HUB_TONES)
    # no SIP server here: the far ends call straight from loopback, so loopback is where calls may come from
    return account, (f'[voice_call]\naccount = "{account}"\nregister = false\nlisten = "127.0.0.1:{port}"\n'
                     f'accept_from = ["127.0.0.1"]\n'
                     f'audio_source = "aufile,{tone}"\naudio_player = "alsa,null"\nmixer_control = ""\n'
                     f'audio_dump_dir = "{tmp_path / "hub-heard"}"\n{extra}{targets}\n')


def wait_status(hub, prefix: str, timeout: float = 15) -> str:
    def status() -> str | None:
        text = str(hub.status().get("voice_call", ""))
        return text if text.startswith(prefix) else None
    return str(wait_until(status, timeout, lambda: f"voice_call status {prefix!r}: "
                          f"{hub.status().get('voice_call')}\n{hub.log_tail()}"))


def test_press_rings_the_duty_desk_and_speech_flows_both_ways(tmp_path, make_hub, subscriber, parties):
    desk = parties("desk")
    account, extra = voice_config(tmp_path, f'targets.emergency = [{{ who = "duty", uri = "{desk.uri}" }}]\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    wait_status(hub, "no registration")
    call_id = hub.sim("press", "--button", "17")["event_id"]
    incoming = desk.wait_event("CALL_INCOMING")
    assert incoming is not None and incoming.peer == account, hub.log_tail()
    assert desk.on_call(incoming.call_id or "", "accept").ok
    started = sub.wait_event("voice.started", 10)
    assert started is not None, hub.log_tail()
    assert_valid(started)
    assert started["data"] | {"setup_s": 0} == {"direction": "outgoing", "who": "duty", "peer": desk.uri,
                                                "trigger": call_id, "attempt": 1, "setup_s": 0, "via": "sip"}
    assert "talking with duty" in hub.status()["voice_call"]
    time.sleep(3)  # three seconds of conversation to record on both sides
    assert desk.on_call(incoming.call_id or "", "hangup").ok
    ended = sub.wait_event("voice.ended", 10)
    assert ended is not None and ended["data"]["reason"] == "remote_hangup", ended
    assert_valid(ended)
    assert ended["data"]["answered"] is True and 2 <= ended["data"]["talk_s"] <= 30
    keys = spoken_when(hub, "voice_call_ended")
    assert keys.index("voice_dialing_duty") < keys.index("voice_connected_duty") < keys.index("voice_call_ended")

    hub_heard = read_wav(sorted((tmp_path / "hub-heard").glob("dump-*-dec.wav"))[-1])
    desk_heard = desk.heard()
    desk_played = read_wav(tmp_path / "desk.wav")
    hub_played = read_wav(tmp_path / "hub-mic.wav")
    for heard, played, tones in ((hub_heard, desk_played, DESK_TONES), (desk_heard, hub_played, HUB_TONES)):
        assert len(heard) > 8000 * 2 and np_rms(heard) > 3000, "silence where speech should be"
        assert min(abs(dominant_hz(heard) - f) for f in tones) < 10
        assert best_correlation(heard, played) > 0.8


def spoken_when(hub, key: str, timeout: float = 10) -> list[str]:
    """The prompts spoken so far, once `key` is among them (the speaker works through a queue)."""
    def spoken() -> list[str] | None:
        keys = spoken_keys(hub)
        return keys if key in keys else None
    return list(wait_until(spoken, timeout, lambda: f"{key} spoken: {spoken_keys(hub)}"))


def np_rms(samples) -> float:
    return float((samples**2).mean() ** 0.5)


def test_each_target_in_turn_until_the_list_runs_out(tmp_path, make_hub, subscriber, parties):
    busy, silent = parties("busy"), parties("silent")
    _, extra = voice_config(tmp_path, f'targets.emergency = [{{ who = "duty", uri = "{busy.uri}" }}, '
                                      f'{{ who = "family", uri = "{silent.uri}", timeout_s = 5 }}]\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    wait_status(hub, "no registration")
    hub.sim("press", "--button", "17")
    incoming = busy.wait_event("CALL_INCOMING", 20)
    assert incoming is not None, hub.log_tail()
    alarm = sub.wait_event("call.raised", 10)
    assert alarm is not None
    busy.on_call(incoming.call_id or "", "hangup")  # 486: the desk line is busy
    first = sub.wait_event("voice.ended", 10, who="duty")
    assert first is not None and first["data"]["reason"] == "busy" and first["data"]["answered"] is False
    assert first["data"]["trigger"] == alarm["id"]
    assert silent.wait_event("CALL_INCOMING", 10) is not None  # the family is rung next, and never answers
    second = sub.wait_event("voice.ended", 15, who="family")
    assert second is not None, hub.log_tail()
    assert second["data"]["reason"] == "no_answer" and second["data"]["attempt"] == 2
    assert silent.wait_event("CALL_CLOSED", 5) is not None  # the hub hung up: it stopped ringing there
    for event in (first, second):
        assert_valid(event)
    assert sub.events("voice.started") == []
    keys = spoken_when(hub, "voice_nobody_answered")
    assert keys.index("voice_dialing_duty") < keys.index("voice_dialing_family") < keys.index("voice_nobody_answered")


def test_call_back_is_answered_only_inside_the_window_and_only_from_allowed_callers(
        tmp_path, make_hub, subscriber, parties):
    desk, stranger = parties("desk"), parties("stranger")
    account, extra = voice_config(tmp_path, extra=f'auto_answer_min = 0.1\nallowed_callers = ["{desk.uri}"]\n'
                                                  'refused_summary_s = 1\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    wait_status(hub, "no registration")

    def ring_hub(party: SipParty) -> tuple[str, str]:
        """The far end dials the hub; returns what became of it there and at the hub."""
        mark = len(party.events)
        assert party.command("dial", account).ok
        outcome = wait_until(lambda: next((e for e in party.events[mark:]
                                           if e.type in ("CALL_ESTABLISHED", "CALL_CLOSED")), None), 15,
                             party.log_tail)
        if outcome.type == "CALL_ESTABLISHED":
            party.on_call(outcome.call_id or "", "hangup")
        if party is stranger:  # refused unseen: counted in voice.refused, no voice.ended of its own
            summary = sub.wait_event("voice.refused", 10)
            assert summary is not None and summary["data"]["reasons"] == {"caller_not_allowed": 1}, hub.log_tail()
            assert_valid(summary)
            return outcome.type, "refused"
        ended = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "voice.ended"
                             and m[2]["data"]["peer"] == party.uri and m[2]["id"] not in seen, 10)
        assert ended is not None, hub.log_tail()
        seen.add(ended[2]["id"])
        assert_valid(ended[2])
        return outcome.type, ended[2]["data"]["reason"]

    seen: set[str] = set()
    assert ring_hub(desk) == ("CALL_CLOSED", "outside_window")  # no alarm yet
    hub.sim("press", "--button", "17")
    assert sub.wait_event("call.raised", 10)
    assert ring_hub(desk) == ("CALL_ESTABLISHED", "remote_hangup")
    started = sub.wait_event("voice.started", 5, direction="incoming")
    assert started is not None and started["data"]["who"] == "caller"
    assert_valid(started)
    assert ring_hub(stranger) == ("CALL_CLOSED", "refused")
    time.sleep(6.5)  # auto_answer_min = 0.1: the window has closed
    assert ring_hub(desk) == ("CALL_CLOSED", "outside_window")
    spoken_when(hub, "voice_connected_caller")


def test_without_baresip_the_hub_says_so_and_runs_on(tmp_path, make_hub, subscriber):
    _, extra = voice_config(tmp_path, 'targets.emergency = [{ who = "duty", uri = "sip:desk@127.0.0.1:9" }]\n')
    extra = extra.replace('[voice_call]\n', '[voice_call]\nbaresip = "/nonexistent/baresip"\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    assert hub.status()["voice_call"] == "unavailable (baresip not installed)"
    hub.sim("press", "--button", "17")
    assert sub.wait_event("call.raised", 10)
    assert "voice calls unavailable: baresip not installed" in hub.log_tail(200)


def test_no_account_no_component(make_hub, subscriber):
    hub, _ = online_hub(make_hub, subscriber, "[voice_call]\nauto_answer_min = 10\n")
    assert "voice_call" not in hub.status()


def test_a_cancelled_press_stops_the_ringing(tmp_path, make_hub, subscriber, parties):
    desk = parties("desk")
    _, extra = voice_config(tmp_path, f'targets.emergency = [{{ who = "duty", uri = "{desk.uri}" }}]\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    wait_status(hub, "no registration")
    call_id = hub.sim("press", "--button", "17")["event_id"]
    assert desk.wait_event("CALL_INCOMING") is not None, hub.log_tail()
    assert hub.sim("press", "--button", "17", "--hold", "3.3")["after_hold"] == "cancelled"
    ended = sub.wait_event("voice.ended", 10)
    assert ended is not None and ended["data"]["reason"] == "cancelled" and ended["data"]["trigger"] == call_id
    assert_valid(ended)
    assert desk.wait_event("CALL_CLOSED", 5) is not None  # it stopped ringing at the desk
    assert "voice_nobody_answered" not in spoken_keys(hub)


def test_a_call_back_while_the_hub_still_rings_is_answered_instead(tmp_path, make_hub, subscriber, parties):
    desk, second_line = parties("desk"), parties("desk2")
    account, extra = voice_config(tmp_path, f'targets.emergency = [{{ who = "duty", uri = "{desk.uri}" }}]\n',
                                  extra=f'allowed_callers = ["{second_line.uri}"]\n')
    hub, sub = online_hub(make_hub, subscriber, extra)
    wait_status(hub, "no registration")
    hub.sim("press", "--button", "17")
    assert desk.wait_event("CALL_INCOMING") is not None, hub.log_tail()
    assert second_line.command("dial", account).ok  # the operator rings back from another line
    assert second_line.wait_event("CALL_ESTABLISHED", 10) is not None, hub.log_tail()
    superseded = sub.wait_event("voice.ended", 10, who="duty")
    assert superseded is not None and superseded["data"]["reason"] == "superseded"
    started = sub.wait_event("voice.started", 10)
    assert started is not None and started["data"]["direction"] == "incoming"
    assert started["data"]["who"] == "caller" and started["data"]["peer"] == second_line.uri
    assert desk.wait_event("CALL_CLOSED", 5) is not None
    for event in (superseded, started):
        assert_valid(event)
