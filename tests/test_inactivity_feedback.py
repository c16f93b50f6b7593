"""Learning from the operator (issue #25): `cmd/feedback` verdicts stored with the alarm's features,
bounded and reversible changes of this home's limits, and the attacker's first probes (replay, unknown
alarm, another hub, the same alarm twice, oversize, wrong types) refused without effect."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from schemas import assert_valid, assert_valid_as
from support import PREFIX, online_hub, wait_until

from hub.cli import main
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.feedback import SCALE_MAX, SCALE_MIN, STEP_UP, FeedbackBook, FeedbackError
from hub.detect.inactivity.params import Params

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
FEATURES = {"gap_min": 130.0, "limit_min": 120.0, "reason": "gap", "last_source": "M-home-pir:ON", "hour": 9}


def book() -> FeedbackBook:
    b = FeedbackBook("hub-1")
    b.record_alarm("a1", FEATURES)
    b.record_alarm("a2", FEATURES)
    return b


def test_a_false_alarm_lengthens_the_limits_and_a_revert_takes_it_back() -> None:
    b = book()
    entry = b.apply({"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"}, NOW)
    assert entry["features"] == FEATURES and entry["scale"] == pytest.approx(STEP_UP)
    assert b.apply({"feedback_id": "f2", "alarm_id": "a2", "verdict": "confirmed"}, NOW)["scale"] \
        == pytest.approx(STEP_UP)
    missed = b.apply({"feedback_id": "f3", "verdict": "missed", "at": "2024-03-04T08:00:00+08:00"}, NOW)
    assert missed["scale"] == pytest.approx(STEP_UP * 0.9) and missed["features"] is None
    assert b.revert({"feedback_id": "f1"})["scale"] == pytest.approx(0.9)
    with pytest.raises(FeedbackError, match="nothing to revert"):
        b.revert({"feedback_id": "f1"})
    with pytest.raises(FeedbackError, match="replayed"):  # a reverted verdict replayed stays out
        b.apply({"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"}, NOW)
    again = FeedbackBook("hub-1")
    again.load(json.loads(json.dumps(b.to_dict())))  # stored as JSON, read back the same
    assert again.scale == b.scale and again.entries == b.entries


def test_bounded_however_many_verdicts() -> None:
    b = FeedbackBook("hub-1")
    for i in range(30):
        b.record_alarm(f"a{i}", FEATURES)
        b.apply({"feedback_id": f"f{i}", "alarm_id": f"a{i}", "verdict": "false_alarm"}, NOW)
    assert b.scale == SCALE_MAX
    for i in range(60):
        b.apply({"feedback_id": f"m{i}", "verdict": "missed", "at": NOW.isoformat()}, NOW)
    assert b.scale == SCALE_MIN


@pytest.mark.parametrize(("body", "problem"), [
    ({"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"}, "replayed"),  # the same body again
    ({"feedback_id": "f9", "alarm_id": "a1", "verdict": "confirmed"}, "already has a verdict"),  # same alarm twice
    ({"feedback_id": "f9", "alarm_id": "zz", "verdict": "false_alarm"}, "not an inactivity alarm of this hub"),
    ({"feedback_id": "f9", "alarm_id": "a2", "verdict": "false_alarm", "hub": "hub-2"}, "this is 'hub-1'"),
    ({"feedback_id": "f9", "alarm_id": "a2", "verdict": "maybe"}, "verdict must be"),
    ({"feedback_id": "x" * 65, "alarm_id": "a2", "verdict": "false_alarm"}, "1-64 characters"),
    ({"feedback_id": 7, "alarm_id": "a2", "verdict": "false_alarm"}, "feedback_id must be"),
    ({"feedback_id": "f9", "alarm_id": ["a2"], "verdict": "false_alarm"}, "alarm_id must be"),
    ({"feedback_id": "f9", "alarm_id": "a2", "verdict": "false_alarm", "note": "x" * 501}, "note"),
    ({"feedback_id": "f9", "verdict": "missed"}, "needs 'at'"),
    ({"feedback_id": "f9", "verdict": "missed", "at": "2030-01-01T00:00:00+00:00"}, "needs 'at'"),  # future
    ({"feedback_id": "f9", "verdict": "missed", "at": "2024-03-04T08:00:00"}, "needs 'at'"),  # no zone
])
def test_hostile_bodies_are_refused_and_change_nothing(body: dict, problem: str) -> None:
    b = book()
    b.apply({"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"}, NOW)
    before = json.dumps(b.to_dict())
    with pytest.raises(FeedbackError, match=problem):
        b.apply(body, NOW)
    assert json.dumps(b.to_dict()) == before


def test_the_detector_scales_its_limits() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.note(NOW, "pir")
    base = det.next_alarm_at()
    det.scale = 1.5
    det.note(NOW, "pir")
    assert base is not None and det.next_alarm_at() == NOW + (base - NOW - timedelta(seconds=600)) * 1.5 \
        + timedelta(seconds=600)


def test_feedback_body_schema_matches_what_the_hub_accepts() -> None:
    assert_valid_as("cmd.feedback", {"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"})
    assert_valid_as("cmd.feedback", {"feedback_id": "f3", "verdict": "missed", "at": NOW.isoformat()})
    with pytest.raises(AssertionError):
        assert_valid_as("cmd.feedback", {"feedback_id": "f1", "verdict": "maybe"})


CONFIG = "[voice]\nenabled = false\n[inactivity]\nfallback_day_h = 2.0\nnight_max_h = 2.0\nnight_min_h = 1.0\n"


@pytest.mark.slow
def test_feedback_over_the_broker_with_probes(make_hub, subscriber) -> None:
    hub, sub = online_hub(make_hub, subscriber, CONFIG)
    hub.sim("inactivity", "3")
    alarm = sub.wait_event("alarm.inactivity", 10)
    assert alarm, hub.log_tail()
    cmd = f"{PREFIX}/test-0001/cmd/feedback"

    def scale() -> float:
        return float(hub.status()["inactivity"]["feedback_scale"])

    def settled(n: int) -> None:  # a ping round trip: the hub has handled what was sent before it
        sub.publish(f"{PREFIX}/test-0001/cmd/ping", json.dumps({"n": n}))
        assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "system.pong"
                            and m[2]["data"]["request"].get("n") == n, 10), hub.log_tail()

    def answer(fid: str | None, event_type: str) -> dict | None:  # the platform hears what became of it
        return sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == event_type
                            and m[2]["data"]["feedback_id"] == fid, 10)

    sub.publish(cmd, json.dumps({"feedback_id": "f1", "alarm_id": alarm["id"], "verdict": "false_alarm"}))
    wait_until(lambda: scale() == pytest.approx(STEP_UP), 10, "feedback applied")
    recorded = answer("f1", "feedback.recorded")
    assert recorded and recorded[2]["data"] == {"feedback_id": "f1", "action": "applied", "verdict": "false_alarm",
                                                "alarm_id": alarm["id"], "at": None, "scale": pytest.approx(STEP_UP)}
    for n, (probe, reason) in enumerate([
        ({"feedback_id": "f1", "alarm_id": alarm["id"], "verdict": "false_alarm"}, "replayed"),
        ({"feedback_id": "f2", "alarm_id": alarm["id"], "verdict": "false_alarm"}, "already_judged"),
        ({"feedback_id": "f3", "alarm_id": "not-ours", "verdict": "false_alarm"}, "unknown_alarm"),
        ({"feedback_id": "f4", "alarm_id": alarm["id"], "verdict": "confirmed", "hub": "test-0002"}, "other_hub"),
        ({"feedback_id": "f5", "alarm_id": alarm["id"], "verdict": "false_alarm", "note": "x" * 600}, "malformed"),
        # a 100 kB command is dropped by the command router before any handler (logged): no answer
        ({"feedback_id": "f8", "alarm_id": alarm["id"], "verdict": "false_alarm", "note": "x" * 100_000}, None),
        ({"feedback_id": "f7", "alarm_id": alarm["id"], "verdict": "false alarm"}, "malformed"),  # a typo
    ]):
        sub.publish(cmd, json.dumps(probe))
        settled(n)
        if reason is not None:
            refused = answer(probe["feedback_id"], "feedback.refused")
            assert refused and refused[2]["data"]["reason"] == reason, (probe["feedback_id"], refused)
    assert not [m for m in sub.events("feedback.refused") if m["data"]["feedback_id"] == "f8"]
    for answered in sub.events("feedback.refused") + sub.events("feedback.recorded"):
        assert_valid(answered)  # as docs/schemas/feedback.*.json say
    assert scale() == pytest.approx(STEP_UP)
    assert "inactivity feedback refused" in hub.log_tail()
    # The platform takes it back; a missed report (no alarm id) moves the limits the other way.
    sub.publish(f"{PREFIX}/test-0001/cmd/feedback_revert", json.dumps({"feedback_id": "f1"}))
    wait_until(lambda: scale() == 1.0, 10, "feedback reverted")
    reverted_msg = answer("f1", "feedback.recorded")
    assert reverted_msg and reverted_msg[2]["data"]["action"] == "applied"  # the first; the revert follows
    assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("type") == "feedback.recorded"
                        and m[2]["data"]["action"] == "reverted" and m[2]["data"]["scale"] == 1.0, 10)
    sub.publish(cmd, json.dumps({"feedback_id": "f6", "verdict": "missed", "at": alarm["ts"]}))
    wait_until(lambda: scale() == pytest.approx(0.9), 10, "missed applied")
    # Kept across a restart (state_dir/inactivity_feedback.json); listed and reverted at the unit.
    hub.stop()
    hub.start()
    assert scale() == pytest.approx(0.9)
    listed = hub.cli("feedback", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [e["feedback_id"] for e in json.loads(listed.stdout)["entries"]] == ["f6"]
    reverted = hub.cli("feedback", "revert", "f6")
    assert reverted.returncode == 0 and "limits x1.0" in reverted.stdout, reverted.stdout + reverted.stderr
    assert scale() == 1.0
    again = hub.cli("feedback", "revert", "f6")
    assert again.returncode == 1 and "nothing to revert" in again.stdout


def test_hub_eval_replays_a_homes_feedback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for d in range(6):
        for minute in range(7 * 60, 22 * 60, 20):
            t = datetime(2024, 1, 1) + timedelta(days=d, minutes=minute)
            lines.append(f"{t:%Y-%m-%d %H:%M:%S}\tM-Kitchen-Pir\tON")
    log = tmp_path / "home.events"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    b = book()
    b.apply({"feedback_id": "f1", "alarm_id": "a1", "verdict": "false_alarm"}, NOW)
    saved = tmp_path / "inactivity_feedback.json"
    saved.write_text(json.dumps(b.to_dict()), encoding="utf-8")
    args = ["eval", "inactivity", str(log), "--json", "--injections", "100", "--seed", "2"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)["all_inputs"]
    assert main([*args, "--feedback", str(saved)]) == 0
    out = capsys.readouterr()
    replayed = json.loads(out.out)["all_inputs"]
    assert "1 verdicts, limits x1.15" in out.err
    assert replayed["median_delay_min_day"] > plain["median_delay_min_day"]  # longer limits, later alarms
    saved.write_text(json.dumps({"version": 9}), encoding="utf-8")
    assert main([*args, "--feedback", str(saved)]) == 2
    assert "unknown feedback version" in capsys.readouterr().err


def test_feedback_never_stretches_a_limit_past_the_longest() -> None:
    det = InactivityDetector(Params(), tz=UTC)
    det.scale = SCALE_MAX
    night = NOW.replace(hour=23)
    det.note(night, "pir")  # a night gap: the fallback is night_max_h already
    assert det.next_alarm_at() == night + timedelta(hours=11.5, minutes=10)
