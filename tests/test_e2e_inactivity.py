"""Inactivity end to end: `hub sim inactivity HOURS` moves a simulated hub's clock with no activity; the
spoken check comes before `alarm.inactivity` on a real mosquitto; away mode suppresses; a press that
answers the check raises no call; and `hub eval inactivity` on a few days of shared data.

Limits are pinned to 2 h day and night (fixed fallback, no learning yet), so the figures do not depend on
the time of day the test runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from schemas import assert_valid
from support import FALL_PARTS, PREFIX, ROOT, SHARED_DATA, online_hub, round_trip, spoken_keys, wait_until

pytestmark = pytest.mark.timeout(120)

LIMIT_H = 2.0
WAIT_S = 600.0
CONFIG = (f"[voice]\nenabled = false\n[inactivity]\nfallback_day_h = {LIMIT_H}\nnight_min_h = 1.0\n"
          f"night_max_h = {LIMIT_H}\ncheck_wait_s = {WAIT_S}\n")
ACTIVITY = SHARED_DATA / "activity" / "ordonez_a.events"


@pytest.fixture
def env(make_hub, subscriber):
    return online_hub(make_hub, subscriber, CONFIG)


def spoken(hub) -> list[dict]:
    return hub.spoken()


keys = spoken_keys


def test_silence_asks_aloud_then_raises_alarm_inactivity(env):
    hub, sub = env
    out = hub.cli("sim", "inactivity", "3", "--json")
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["advanced_h"] == 3 and reply["decisions"] == 3 and reply["asking"] is False  # check, recheck, alarm
    assert reply["question"] is None
    found = sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "alarm.inactivity", 10)
    assert found, hub.log_tail()
    received, topic, alarm = found
    assert topic == f"{PREFIX}/test-0001/event/alarm"
    assert_valid(alarm)
    data = alarm["data"]
    assert data["limit_min"] == LIMIT_H * 60 and data["basis"] == "fallback" and data["check_wait_s"] == WAIT_S
    assert data["gap_min"] == pytest.approx(LIMIT_H * 60 + WAIT_S / 60, abs=1.5)
    assert data["last_source"] == "hub:start"
    said = spoken(hub)
    order = [u["key"] for u in said]
    check = order.index("inactivity_check")
    assert check < order.index("inactivity_recheck") < order.index("inactivity_alarm")
    assert said[check]["at"] <= received  # the resident was asked (twice) before the alarm went out
    assert order.count("inactivity_check") == 1 and order.count("inactivity_recheck") == 1


def test_away_mode_suppresses_the_check_and_the_alarm(env):
    hub, sub = env
    sub.publish(f"{PREFIX}/test-0001/cmd/away", json.dumps({"by": "family app"}))
    away = sub.wait_event("away.set", 5)
    assert away, hub.log_tail()
    assert_valid(away)
    reply = hub.sim("inactivity", "8")
    assert reply["away"] is True and reply["decisions"] == 0
    round_trip(sub)  # the hub is past the 8 quiet hours: an alarm would have reached us first
    assert sub.events("alarm.inactivity") == []
    assert "inactivity_check" not in keys(hub)
    sub.publish(f"{PREFIX}/test-0001/cmd/home", b"{}")
    home = sub.wait_event("away.cleared", 5)
    assert home, hub.log_tail()
    assert_valid(home)
    assert hub.status()["inactivity"]["away"] is False


def test_a_press_answering_the_check_raises_no_call(env):
    hub, sub = env
    asking = hub.sim("inactivity", f"{LIMIT_H + 0.05}")  # the check was asked 3 minutes ago
    assert asking["asking"] is True and asking["question"] == 1 and keys(hub) == ["inactivity_check"]
    answered = hub.sim("press", "--button", "17")
    assert answered == {"outcome": "claimed"}
    round_trip(sub)  # the hub is past the press: a call would have reached us first
    assert sub.events("call.raised") == []
    assert keys(hub)[-1] == "inactivity_ok"
    after = hub.sim("inactivity", "1")  # the press was activity: a new gap starts from it
    assert after["asking"] is False and after["decisions"] == 0
    assert sub.events("alarm.inactivity") == []
    # With no question pending the same button calls for help as always.
    call = hub.sim("press", "--button", "17")
    assert call["outcome"] == "raised"
    raised = sub.wait_event("call.raised", 5)
    assert raised and raised["id"] == call["event_id"]


def test_a_press_after_the_alarm_is_a_call_again(env):
    hub, sub = env
    hub.sim("inactivity", "3")
    assert sub.wait_event("alarm.inactivity", 10), hub.log_tail()
    call = hub.sim("press", "--button", "27")
    assert call["outcome"] == "raised"
    assert sub.wait_event("call.raised", 5, button=27)


@pytest.fixture
def activity_subset(tmp_path: Path) -> Path:
    if not ACTIVITY.exists():
        pytest.skip(f"activity development data not at {ACTIVITY}")
    lines = ACTIVITY.read_text(encoding="utf-8").splitlines(keepends=True)[:400]  # about a week
    path = tmp_path / "home.events"  # pytest's temp dir only, never the repo
    path.write_text("".join(lines), encoding="utf-8")
    return path


def hub_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_hub_eval_inactivity_prints_its_figures(activity_subset: Path):
    text = hub_cli("eval", "inactivity", str(activity_subset), "--seed", "1", "--injections", "20")
    assert text.returncode == 0, text.stderr
    print(text.stdout)
    assert "false alarms" in text.stdout and "median" in text.stdout and "injected" in text.stdout
    out = hub_cli("eval", "inactivity", str(activity_subset), "--json", "--seed", "1", "--injections", "20")
    assert out.returncode == 0, out.stderr
    both = json.loads(out.stdout)
    assert set(both) == {"all_inputs", "without_doors_mats"}  # the home has doors and mats
    result = both["all_inputs"]
    assert {"days", "false_alarms", "false_alarms_per_30d", "injections", "detected", "median_delay_min_day",
            "p90_delay_min_day", "median_delay_min_night"} <= set(result)
    assert 5 < result["days"] < 8 and result["injections"] == 20
    assert 0 <= result["detected"] <= 20 and result["false_alarms"] >= 0


YEAR_S = 365 * 86400


def test_wall_clock_steps_of_a_year_raise_no_alarm_and_keep_the_timer(env):
    hub, sub = env
    first = hub.sim("press", "--button", "17")
    stepped = hub.sim("clock-step", str(YEAR_S))  # NTP sets the clock a year ahead ...
    assert stepped["now"][:4] == str(int(stepped["before"][:4]) + 1)
    hub.sim("motion")  # ... and the resident moves at once, before the detector's next tick
    hub.sim("inactivity", f"{LIMIT_H - 0.5}")
    hub.sim("clock-step", str(-2 * YEAR_S))  # then a year back behind where it started
    second = hub.sim("press", "--button", "27")  # a press is activity too
    hub.sim("inactivity", f"{LIMIT_H - 0.5}")
    assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "alarm.inactivity", 1) is None
    assert "inactivity_check" not in keys(hub)
    log = hub.log_tail(400)
    assert f"wall clock stepped forwards by {YEAR_S} s" in log
    assert f"wall clock stepped backwards by {2 * YEAR_S} s" in log
    # The timer kept real elapsed time: the check comes LIMIT_H after the last motion, then the alarm.
    hub.sim("inactivity", "1")
    alarm = sub.wait_event("alarm.inactivity", 10)
    assert alarm is not None, hub.log_tail()
    assert alarm["data"]["gap_min"] == pytest.approx(LIMIT_H * 60 + WAIT_S / 60, abs=1.5)
    # On the wire `ts` went backwards with the clock; `seq` did not (the platform orders by seq).
    a = sub.wait_event("call.raised", 5, button=17)
    b = sub.wait_event("call.raised", 5, button=27)
    assert a and b and a["id"] == first["event_id"] and b["id"] == second["event_id"]
    assert b["ts"] < a["ts"] and b["seq"] > a["seq"]


VISITOR_CONFIG = CONFIG + "[fall]\n" + FALL_PARTS + """[[doors]]
name = "front"
pin = 16
exit = true
[[mats]]
name = "armchair"
pin = 20
place = "chair"
"""


@pytest.mark.slow
def test_a_visitor_pauses_inactivity_and_the_fall_radar_until_they_leave(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, VISITOR_CONFIG)
    # The resident sits down; two minutes later the front door opens: someone came in from outside.
    assert hub.sim("mat", "on")["state"] == "occupied"
    hub.sim("inactivity", "0.03")
    assert hub.sim("door", "open")["state"] == "open"
    status = wait_until(lambda: hub.status()["inactivity"], 10, "inactivity status")
    assert status["visitor"] is True and status["presumed_out"] is False
    # The radar reports a fall while the visitor is there: read, and no countdown.
    radar = hub.sim("radar", "fall")
    assert radar["suspected"] is False
    wait_until(lambda: "fall radar report while a visitor is present" in hub.log_tail(), 10, "radar ignored")
    # An hour and more with no further sign of two people: the visit is over; checks are back.
    hub.sim("inactivity", "1.1")
    status = wait_until(lambda: (s := hub.status()["inactivity"]) and not s["visitor"] and s, 10, "visit over")
    assert status["alarm_due"] is not None
    assert hub.sim("radar", "fall")["suspected"] is True  # the fall radar counts down again
    assert sub.events("alarm.inactivity") == []


RULE_CONFIG = CONFIG + """[[doors]]
name = "bathroom"
pin = 19
[[inactivity_rules]]
kind = "dwell"
place = "bathroom"
day_max_min = 40
night_max_min = 40
"""


@pytest.mark.slow
def test_a_community_dwell_rule_asks_then_alarms_with_its_reason(make_hub, subscriber):
    hub, sub = online_hub(make_hub, subscriber, RULE_CONFIG)
    assert hub.sim("door", "open", "--name", "bathroom")["state"] == "open"
    assert hub.sim("door", "close", "--name", "bathroom")["state"] == "shut"  # in, door shut behind
    reply = hub.sim("inactivity", "1")  # 40 min in the bathroom, then the 10 min wait: before the 2 h limit
    assert reply["decisions"] == 3, hub.log_tail()  # asked, asked again louder, alarm
    alarm = sub.wait_event("alarm.inactivity", 10)
    assert alarm, hub.log_tail()
    assert_valid(alarm)
    data = alarm["data"]
    assert data["reason"] == "dwell" and data["last_source"] == "D-door-bathroom:OFF"
    assert data["limit_min"] == pytest.approx(40, abs=0.1) and data["gap_min"] == pytest.approx(50, abs=1.5)
    assert keys(hub).count("inactivity_check") == 1
