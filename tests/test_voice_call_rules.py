"""hub/voicecall decisions that need no baresip: which events call whom, who may be answered, why a
call ended, what the config accepts, and that the resident hears every role named in both languages."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from hub.config.loader import ConfigError, validate
from hub.core.events import Event
from hub.voicecall import calls
from hub.voicecall.calls import Call, close_reason
from hub.voicecall.mixer import set_speaker_volume
from hub.voicecall.rules import trigger_kind, who_is
from hub.voicecall.schema import ROLES
from voice.catalogue import prompt

TARGETS = {"emergency": [{"who": "duty", "uri": "sip:8001@pbx.example.org"}],
           "family": [{"who": "family", "uri": "tel:+86 138 0000 0000"}]}


@pytest.mark.parametrize(("event_type", "data", "kind"), [
    ("call.raised", {"kind": "health", "button": 27}, "health"),
    ("call.raised", {"kind": "emergency", "button": 17}, "emergency"),
    ("alarm.fall", {}, "emergency"),
    ("alarm.fire", {}, "emergency"),
    ("alarm.fire_cleared", {}, None),
    ("health.alert", {}, "health"),
    ("call.acknowledged", {}, None),
    ("alarm.acknowledged", {"alarm_type": "alarm.fall"}, None),
    ("health.acknowledged", {"alarm_type": "health.alert"}, None),
    ("measurement.blood_pressure", {}, None),
])
def test_which_events_call_whom(event_type, data, kind):
    assert trigger_kind(Event(event_type, data)) == kind


def test_who_may_be_answered():
    v = {"targets": TARGETS, "allowed_callers": ["sip:neighbour@pbx.example.org"]}
    assert who_is(v, "sip:8001@pbx.example.org:5060") == "duty"
    assert who_is(v, "sip:+8613800000000@gw.example.org") is None  # a bare number (tel:) names no SIP caller
    assert who_is(v, '"Li" <sip:neighbour@pbx.example.org>') == "caller"
    assert who_is(v, "sip:8001@elsewhere.example.org") is None
    assert who_is({"targets": None, "allowed_callers": []}, "sip:8001@pbx.example.org") is None


@pytest.mark.parametrize(("direction", "answered", "local", "param", "reason"), [
    ("outgoing", True, None, "Connection reset by peer", calls.REMOTE_HANGUP),
    ("outgoing", True, None, "Connection reset by user", calls.LOCAL_HANGUP),
    ("outgoing", False, None, "486 Busy Here", calls.BUSY),
    ("outgoing", False, None, "486 Rejected", calls.BUSY),
    ("outgoing", False, None, "603 Decline", calls.DECLINED),
    ("outgoing", False, None, "404 Not Found", calls.NOT_FOUND),
    ("outgoing", False, None, "480 Temporarily Unavailable", calls.NO_ANSWER),
    ("outgoing", False, None, "Connection timed out", calls.UNREACHABLE),
    ("outgoing", False, calls.NO_ANSWER, "Connection reset by user", calls.NO_ANSWER),
    ("incoming", False, None, "Connection reset by peer", calls.CALLER_GAVE_UP),
    ("incoming", False, calls.OUTSIDE_WINDOW, "Connection reset by user", calls.OUTSIDE_WINDOW),
])
def test_why_a_call_ended(direction, answered, local, param, reason):
    async def make() -> Call:
        call = Call(direction, "duty", "sip:8001@pbx.example.org", None)
        call.local_reason = local
        if answered:
            call.mark_answered()
        return call

    assert close_reason(asyncio.run(make()), param) == reason


def test_every_role_is_named_to_the_resident_in_both_languages():
    for role in ROLES:
        for key in (f"voice_dialing_{role}", f"voice_connected_{role}"):
            assert prompt(key).zh and prompt(key).en
    assert prompt("voice_dialing_duty").zh.startswith("正在接通社区值班员")


def base(voice_call: dict) -> dict:
    return {"voice_call": {"account": "sip:hub@pbx.example.org", **voice_call}}


@pytest.mark.parametrize(("voice_call", "key"), [
    ({"targets": {"emergncy": []}}, "voice_call.targets.emergncy"),
    ({"targets": {"emergency": [{"who": "boss", "uri": "sip:1@x"}]}}, "voice_call.targets.emergency[0].who"),
    ({"targets": {"emergency": [{"who": "duty"}]}}, "voice_call.targets.emergency[0].uri"),
    ({"targets": {"emergency": [{"who": "duty", "uri": "sip:1@x", "timeout_s": 1}]}},
     "voice_call.targets.emergency[0].timeout_s"),
    ({"targets": {"emergency": [{"who": "duty", "uri": "sip:1@x", "ring": 3}]}}, "voice_call.targets.emergency[0]"),
    ({"password": "a;b"}, "voice_call.password"),
    ({"rtp_ports": "20000"}, "voice_call.rtp_ports"),
    ({"allowed_callers": [""]}, "voice_call.allowed_callers[0]"),
    ({"allowed_callers": ["13800000000"]}, "voice_call.allowed_callers[0]"),  # would match any host
    ({"allowed_callers": ["sip:8001"]}, "voice_call.allowed_callers[0]"),
    ({"listen": "0.0.0.0:5060"}, "voice_call.listen"),  # every interface
    ({"listen": "[::]:5060"}, "voice_call.listen"),
    ({"listen": "auto"}, "voice_call.listen"),
    ({"accept_from": ["0.0.0.0"]}, "voice_call.accept_from[0]"),
    ({"auto_answer_kinds": ["emergncy"]}, "voice_call.auto_answer_kinds[0]"),
])
def test_config_mistakes_name_the_key(voice_call, key):
    with pytest.raises(ConfigError) as caught:
        validate(base(voice_call))
    assert caught.value.key == key


def test_targets_without_an_account_are_a_mistake():
    with pytest.raises(ConfigError) as caught:
        validate({"voice_call": {"targets": TARGETS}})
    assert caught.value.key == "voice_call.account"
    assert validate(base({"targets": TARGETS}))["voice_call"]["targets"] == TARGETS


def test_a_missing_mixer_control_is_reported_once_and_the_call_goes_on(caplog):
    if shutil.which("amixer") is None:
        pytest.skip("amixer not installed (alsa-utils)")
    v = {"mixer_control": "PCM", "mixer_card": "99", "speaker_volume_pct": 100}  # no card 99 here
    assert asyncio.run(set_speaker_volume(v)) is False
    assert asyncio.run(set_speaker_volume(v)) is False
    warnings = [r.getMessage() for r in caplog.records if r.name == "hub.voicecall.mixer"]
    assert len(warnings) == 1 and "mixer_control = 'PCM'" in warnings[0] and "Invalid card number" in warnings[0]
    assert asyncio.run(set_speaker_volume({**v, "mixer_control": ""})) is False  # '' = leave the mixer alone


def test_the_defaults_pass_the_checks_a_section_left_alone_skips() -> None:
    """check() skips a [voice_call] nobody wrote in (no SIP code on a hub without SIP): only because the
    defaults pass every check, with or without a modem."""
    from hub.voicecall.schema import VOICE_CALL, check, check_section

    defaults = {name: key.default for name, key in VOICE_CALL.keys.items()}
    assert check_section(defaults, have_modem=False) == [] and check_section(defaults, have_modem=True) == []
    written = {**defaults, "listen": "auto:99999"}  # something written: checked in full
    assert [key for key, _ in check({"voice_call": written})] == ["voice_call.listen"]
