"""Fall detection end to end: `hub sim fall` (worn sensor over virtual BLE) and `hub sim radar fall`
(MR60FDA1 frames on the simulated UART) on a simulated hub with a real mosquitto; the spoken countdown,
its cancel by a button, and `hub eval fall` on a few SisFall trials (skipped without the data).

The hub config names both parts ([fall] wearable_address and radar_port, support.FALL_PARTS): the simulated
board has the parts its config names. A hub without them answers `hub sim fall` with what to add.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from schemas import assert_valid
from support import (
    FALL_PARTS,
    PREFIX,
    ROOT,
    online_hub,
    round_trip,
    sisfall_subset,
    spoken_keys,
    wait_online,
    wait_spoken,
)

pytestmark = pytest.mark.timeout(120)

VOICE_OFF = "[voice]\nenabled = false\n"
SUBSET = ["SA01/F01_SA01_R01", "SA02/F05_SA02_R01", "SA01/D01_SA01_R01", "SE01/D07_SE01_R01"]


def countdown(seconds: float, every: float = 1.0) -> str:
    return f"{VOICE_OFF}[fall]\ncountdown_s = {seconds}\nprompt_every_s = {every}\n{FALL_PARTS}"


def test_silence_after_a_worn_sensor_fall_raises_alarm_fall(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, countdown(2.0))
    out = hub.cli("sim", "fall", "--json")
    assert out.returncode == 0, out.stderr
    suspected = json.loads(out.stdout)
    assert suspected["suspected"] is True and suspected["source"] == "wearable", suspected
    alarm = sub.wait_event("alarm.fall", 10)
    assert alarm, hub.log_tail()
    assert_valid(alarm)
    data = alarm["data"]
    assert data["source"] == "wearable" and data["outcome"] == "no_response"
    assert data["countdown_s"] == 2.0 and data["prompts"] == 2 and data["peak_g"] > 2
    assert data["waited_s"] == pytest.approx(2.0, abs=0.6)
    # "已通知社区" is said once the broker has the alarm (its PUBACK), which may come after we read the event
    assert wait_spoken(hub, "fall_alarm"), spoken_keys(hub)
    keys = spoken_keys(hub)
    assert keys.count("fall_check") == 2 and keys.index("fall_check") < keys.index("fall_alarm")
    assert sub.events("fall.cancelled") == []


def test_a_press_during_the_countdown_answers_it_without_a_call(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, countdown(3.0))
    began = time.time()
    assert hub.sim("fall")["suspected"] is True
    pressed = hub.sim("press", "--button", "17")
    assert pressed["outcome"] == "claimed"  # "您摔倒了吗？…" answered: not a call for help
    cancelled = sub.wait_event("fall.cancelled", 5)
    assert cancelled, hub.log_tail()
    assert_valid(cancelled)
    assert cancelled["data"]["button"] == 17 and cancelled["data"]["source"] == "wearable"
    assert cancelled["data"]["cancelled_after_s"] < 3.0
    time.sleep(max(0.0, began + 3.0 + 0.7 - time.time()))  # past the end the countdown would have had
    round_trip(sub)  # and the hub past it too: an alarm raised by then would have reached us first
    assert sub.events("alarm.fall") == [] and sub.events("call.raised") == []
    keys = spoken_keys(hub)
    assert "fall_cancelled" in keys and "fall_alarm" not in keys and "call_raising" not in keys
    assert hub.status()["fall_countdown"] is None
    again = hub.sim("press", "--button", "17")  # the question is over: a press is a call again
    assert again["outcome"] == "raised"
    call = sub.wait_event("call.raised", 5, kind="emergency")
    assert call, hub.log_tail()
    assert_valid(call)
    # ...and the operator sees it comes seconds after she told the fall question she was fine
    recent = call["data"]["context"]["recent_fall"]
    assert recent["type"] == "fall.cancelled" and recent["id"] == cancelled["id"] and 0 < recent["s_before"] < 30


def test_radar_fall_report_raises_alarm_fall(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, countdown(1.0))
    out = hub.cli("sim", "radar", "fall", "--json")
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["suspected"] is True and reply["source"] == "radar"
    # line noise, a truncated frame and a bad checksum went in before the report: skipped and counted
    assert reply["radar"]["bad_checksum"] >= 1 and reply["radar"]["skipped_bytes"] > 0
    alarm = sub.wait_event("alarm.fall", 10, source="radar")
    assert alarm, hub.log_tail()
    assert_valid(alarm)
    assert alarm["data"]["report"] == "fall" and alarm["data"]["prompts"] == 1
    assert hub.alive()


def test_clock_jumps_do_not_cut_the_countdown_short(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, countdown(2.0))
    began = time.time()
    assert hub.sim("radar", "fall")["suspected"] is True
    hub.sim("inactivity", "1")  # moves the hub clock one hour on, mid-countdown
    assert sub.events("alarm.fall") == []
    alarm = sub.wait_event("alarm.fall", 10)
    assert alarm, hub.log_tail()
    assert time.time() - began >= 1.5
    assert alarm["data"]["waited_s"] == pytest.approx(2.0, abs=0.6)
    assert_valid(alarm)


def test_both_parts_configured_are_simulated(make_hub, subscriber):
    # the default 30 s countdown: each suspected fall is cancelled by a press
    hub, sub = online_hub(make_hub, subscriber, f"{VOICE_OFF}[fall]\n{FALL_PARTS}")
    radar = hub.sim("radar", "fall")
    assert radar["suspected"] is True and radar["radar"]["port"] == "/dev/ttyAMA0"
    hub.sim("press", "--button", "27")
    assert sub.wait_event("fall.cancelled", 5, source="radar"), hub.log_tail()
    worn = hub.sim("fall")
    assert worn["suspected"] is True and worn["source"] == "wearable"
    hub.sim("press", "--button", "22")
    assert sub.wait_event("fall.cancelled", 5, source="wearable"), hub.log_tail()
    for event in sub.events("fall.cancelled"):
        assert_valid(event)
    assert sub.events("alarm.fall") == []


@pytest.fixture(name="sisfall_subset")
def sisfall_subset_fixture(tmp_path: Path) -> Path:
    return sisfall_subset(tmp_path, SUBSET)


def hub_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_hub_eval_fall_prints_its_figures(sisfall_subset: Path):
    text = hub_cli("eval", "fall", "--dataset", "sisfall", str(sisfall_subset))
    assert text.returncode == 0, text.stderr
    print(text.stdout)
    assert "4 trials, 3 subjects" in text.stdout
    assert "sensitivity" in text.stdout and "specificity" in text.stdout and "x real time" in text.stdout
    out = hub_cli("eval", "fall", "--dataset", "sisfall", str(sisfall_subset), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["trials"] == 4
    assert result["groups"]["SA"]["trials"] == 3 and result["groups"]["SE"]["trials"] == 1
    assert result["groups"]["SE"]["sensitivity"] is None  # no fall trials among the older subjects here
    assert 0.0 <= result["sensitivity"] <= 1.0 and 0.0 <= result["specificity"] <= 1.0
    assert result["realtime_factor"] > 0  # reported; its speed is bench/fall_speed.py's, never a test's


def test_a_fall_the_wearer_gets_up_from_is_reported_not_alarmed(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, countdown(2.0))
    out = hub.cli("sim", "fall", "--how", "got-up", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outcome"] == "recovered"
    recovered = sub.wait_event("fall.recovered", 10)
    assert recovered, hub.log_tail()
    assert_valid(recovered)
    assert recovered["data"]["source"] == "wearable" and recovered["data"]["impact_g"] > 2
    # the question passes the press on: an ordinary call; no countdown was ever started
    assert hub.sim("press", "--button", "17")["outcome"] == "raised"
    assert sub.wait_event("call.raised", 5, kind="emergency"), hub.log_tail()
    assert hub.status().get("fall_countdown") is None  # never started
    assert sub.events("alarm.fall") == []


def test_the_operator_sees_the_countdown_start_and_end_at_once(make_hub, subscriber):
    """The retained status carries `fall_countdown` the moment it starts and ends (set_status(now=True)),
    not at the next periodic refresh, a minute later at most: a duty operator looking at this home sees
    "a fall is being checked" while the resident is being asked."""
    sub = subscriber(f"{PREFIX}/test-0001/#")
    hub = make_hub(extra=countdown(30.0, 10.0), mqtt_extra="status_interval_s = 60\n")
    assert wait_online(sub, "test-0001"), hub.log_tail()

    def status_with(test):
        return lambda m: m[1].endswith("/status") and isinstance(m[2], dict) and test(m[2].get("fall_countdown"))

    assert sub.wait_for(status_with(lambda c: c is None), 10), "no status before the fall"
    assert hub.sim("fall")["suspected"] is True
    started = sub.wait_for(status_with(lambda c: c is not None), 10)
    assert started, hub.log_tail()
    assert started[2]["fall_countdown"]["source"] == "wearable" and started[2]["fall_countdown"]["countdown_s"] == 30
    assert hub.sim("press", "--button", "17")["outcome"] == "claimed"  # answered: the countdown ends
    assert sub.wait_event("fall.cancelled", 10), hub.log_tail()
    ended = sub.wait_for(lambda m: m[0] > started[0] and status_with(lambda c: c is None)(m), 10)
    assert ended, hub.log_tail()
