"""`hub eval fall` on a small subset of the shared SisFall development data (skipped when absent),
and on tiny self-made files that exercise the robust parser."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from support import sisfall_subset

from hub.cli import main
from hub.detect.evaluation.falls import Trial, padded, read_waist_adxl, run_trial
from hub.detect.evaluation.wear import transition
from hub.detect.fall.detector import FallParams
from hub.detect.fall.sim import synth_fall_trace

SUBSET = ["SA01/F01_SA01_R01", "SA01/F13_SA01_R02", "SA01/D01_SA01_R01", "SA01/D13_SA01_R01",
          "SE01/D07_SE01_R01", "SE01/D11_SE01_R01"]


@pytest.fixture
def subset(tmp_path: Path) -> Path:
    return sisfall_subset(tmp_path, SUBSET)


def test_eval_fall_prints_figures(subset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "fall", "--dataset", "sisfall", str(subset)]) == 0
    out = capsys.readouterr().out
    assert "6 trials, 2 subjects" in out
    assert "sensitivity" in out and "worst ADL codes" in out and "x real time" in out
    assert "falls from sitting: faint, slump (F13-F15)" in out and "per day of continuous wear" in out
    assert out.count("\nSA ") == 1 and out.count("\nSE ") == 1
    assert "\nSA01 " in out and "\nSE01 " in out and "lowest per subject: any fall event 100.0%" in out


def test_eval_fall_cross_validates_nested(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"{s}/{c}_{s}_R01" for s in ("SA01", "SA02", "SA03") for c in ("F01", "D01")] + ["SE01/D07_SE01_R01"]
    root = sisfall_subset(tmp_path, names)
    assert main(["eval", "fall", "--dataset", "sisfall", str(root), "--cross-validate", "--json"]) == 0
    cv = json.loads(capsys.readouterr().out)["cross_validation"]
    assert cv["method"] == "nested leave-one-subject-out"
    assert set(cv["limits_per_fold"]) == {"SA01", "SA02", "SA03", "SE01"}
    assert set(cv["subjects_table"]) == {"SA01", "SA02", "SA03", "SE01"}
    assert cv["groups"]["SA"]["falls"] == 3 and cv["groups"]["SA"]["got_up"]["trials"] == 3


def test_nested_cross_validation_needs_three_subjects(subset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "fall", "--dataset", "sisfall", str(subset), "--cross-validate"]) == 2
    assert "at least 3 subjects" in capsys.readouterr().err


def test_eval_fall_json(subset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "fall", "--dataset", "sisfall", str(subset), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["groups"]["SA"]["trials"] == 4 and result["groups"]["SE"]["trials"] == 2
    assert result["groups"]["SE"]["sensitivity"] is None  # no fall trials among the older subjects
    assert result["groups"]["SA"]["sensitivity"] == 1.0  # both falls found
    assert 0.0 <= result["specificity"] <= 1.0
    assert result["realtime_factor"] > 0  # reported; its speed is bench/fall_speed.py's, never a test's
    assert result["fall_types"]["from walking/jogging (F01-F07)"]["falls"] == 1
    assert result["fall_codes"] == {"F01": {"falls": 1, "detected": 1}, "F13": {"falls": 1, "detected": 1}}
    table = result["subjects_table"]
    assert (table["SA01"]["falls"], table["SA01"]["any"], table["SA01"]["adls"]) == (2, 2, 2)
    assert table["SE01"]["falls"] == 0 and table["SE01"]["adls"] == 2
    wear = result["wear"]
    assert wear["subjects"] == 2 and set(wear["groups"]) == {"SA", "SE"}
    assert set(wear["subjects_figures"]) == {"SA01", "SE01"}
    assert 0 < wear["active_h"] < wear["worn_h"] and wear["false_alarms"] >= 0


def test_padding_keeps_a_decision_that_the_recording_cut_off() -> None:
    trace = synth_fall_trace(200)
    impact = round(3.65 * 200)
    short = trace[:impact + 2 * 200]  # the recording ends 2 s after the impact
    padded_trial = padded(short, FallParams().decide_after_s + 2.0)
    assert len(padded_trial) == len(short) + round((FallParams().decide_after_s + 2.0) * 200)
    assert np.array_equal(padded_trial[-200:], short[-200:])
    cut = run_trial(Trial(Path("F01_SA99_R01.txt"), "F01", "SA99"), short)
    assert cut.detected and cut.kind == "fall"


def test_wear_stream_turns_between_postures_without_impact() -> None:
    lying, standing = np.array([1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])
    gap = transition(lying, standing, 10.0)
    assert len(gap) == 2000 and np.allclose(np.linalg.norm(gap, axis=1), 1.0)
    assert np.allclose(gap[0], lying) and np.allclose(gap[-1], standing, atol=0.01)


def counts(acc_g: np.ndarray) -> str:
    """A SisFall-format text: 9 integer columns per line, ';' at the end (other sensors zero)."""
    rows = np.round(acc_g * 256).astype(int)
    return "".join(f"{x:4d},{y:4d},{z:4d},   0,   0,   0,   0,   0,   0;\n" for x, y, z in rows)


def test_self_made_trials_and_messy_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "SA99").mkdir()
    fall = counts(synth_fall_trace(200))
    # blank lines, stray spaces and one malformed line must not stop the parse
    messy = fall.replace("\n", " \n\n", 5) + "junk;\n"
    (tmp_path / "SA99" / "F01_SA99_R01.txt").write_text(messy)
    still = np.tile([[0.0, -1.0, 0.0]], (2400, 1))
    with gzip.open(tmp_path / "SA99" / "D07_SA99_R01.txt.gz", "wt") as f:
        f.write(counts(still))
    (tmp_path / "SA99" / "D08_SA99_R01.txt.gz").write_bytes(b"not gzip at all")
    assert main(["eval", "fall", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["trials"] == 2 and len(result["skipped"]) == 1
    assert result["groups"]["SA"]["sensitivity"] == 1.0 and result["groups"]["SA"]["specificity"] == 1.0
    assert "D08_SA99_R01" in captured.err and "malformed" in captured.err
    assert read_waist_adxl(tmp_path / "SA99" / "F01_SA99_R01.txt").shape == (len(synth_fall_trace(200)), 3)


def test_missing_dir_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "fall", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_got_up_splice_cuts_after_the_impact_turns_and_walks() -> None:
    from hub.detect.evaluation.splice import HOLD_S, WALK_FROM_S, WALK_S, got_up

    fall = synth_fall_trace(200)
    t = np.arange(30 * 200) / 200
    walk = np.stack((0.1 * np.sin(6 * t), -1.0 - 0.2 * np.sin(11 * t), np.zeros_like(t)), axis=1)
    spliced = got_up(fall, walk, 4.0, np.random.default_rng(0))
    impact = int(np.argmax(np.linalg.norm(fall, axis=1)))
    cut = impact + 4 * 200
    assert np.array_equal(spliced[:cut], fall[:cut])  # the fall, unchanged, up to 4 s after the impact
    assert len(spliced) == cut + 3 * 200 + round(WALK_S * 200)
    walked = walk[round(WALK_FROM_S * 200):round((WALK_FROM_S + WALK_S) * 200)]
    assert np.array_equal(spliced[-round(WALK_S * 200):], walked)
    turn = spliced[cut:cut + 600]
    assert np.allclose(np.linalg.norm(turn, axis=1), 1.0, atol=0.05)  # getting up: no impact
    assert HOLD_S[0] >= 3.5  # still lying through the landing window the detector reads
    result = run_trial(Trial(Path("F01_SA99_R01.txt"), "F01", "SA99", "got_up"), spliced)
    assert result.outcome == "recovered" and not result.detected


def test_a_slow_got_up_splice_is_reclined_at_the_end_of_the_post_phase_then_up() -> None:
    from hub.detect.evaluation.splice import RECLINED_DEG, WALK_S, got_up

    fall = synth_fall_trace(200)
    t = np.arange(30 * 200) / 200
    walk = np.stack((0.1 * np.sin(6 * t), -1.0 - 0.2 * np.sin(11 * t), np.zeros_like(t)), axis=1)
    impact = int(np.argmax(np.linalg.norm(fall, axis=1)))
    up = np.array([0.0, -1.0, 0.0])

    def tilt(a: np.ndarray) -> float:
        m = a.mean(axis=0)
        return float(np.degrees(np.arccos(np.clip(m @ up / np.linalg.norm(m), -1.0, 1.0))))

    for get_up_s in (15.0, 25.0):
        spliced = got_up(fall, walk, 4.0, np.random.default_rng(0), get_up_s=get_up_s)
        assert len(spliced) == impact + 4 * 200 + round(get_up_s * 200) + round(WALK_S * 200)
        at = impact + 10 * 200  # the end of the detector's post phase: reclined, neither lying nor up
        assert abs(tilt(spliced[at - 100:at]) - RECLINED_DEG) < 3.0
        upright = impact + round((4.0 + get_up_s) * 200)
        assert tilt(spliced[upright:upright + 200]) < 35.0 and np.array_equal(spliced[upright:], walk[1000:4000])
        turn = spliced[impact + 800:upright]
        assert np.allclose(np.linalg.norm(turn, axis=1), 1.0, atol=0.05)  # getting up slowly: no impact
        result = run_trial(Trial(Path("F01_SA99_R01.txt"), "F01", "SA99", "got_up"), spliced)
        assert result.outcome is not None  # reported (a fall.recovered, or the countdown while reclined)


def test_summary_counts_alarms_and_recovered_events_apart() -> None:
    from hub.detect.evaluation.falls import TrialResult, summarise

    def result(code: str, variant: str, detected: bool, recovered: bool) -> TrialResult:
        trial = Trial(Path(f"{code}_SA99_R01.txt"), code, "SA99", variant)
        return TrialResult(trial, 15.0, detected, None, 0.01, recovered=recovered)

    rs = [result("F01", "", True, False), result("F02", "", False, True), result("F03", "", False, False),
          result("F01", "got_up", False, True), result("D13", "", False, True), result("D06", "", True, False),
          result("D01", "", False, False)]
    s = summarise(rs)
    g = s["groups"]["SA"]
    assert (g["falls"], g["detected"], g["alarmed"], g["missed"]) == (3, 2, 1, 1)
    assert (g["adls"], g["false_alarms"], g["false_recovered"]) == (3, 1, 1)
    assert g["sensitivity"] == pytest.approx(2 / 3) and g["sensitivity_alarm"] == pytest.approx(1 / 3)
    assert g["specificity"] == pytest.approx(2 / 3) and g["specificity_any"] == pytest.approx(1 / 3)
    assert g["got_up"] == {"trials": 1, "events": 1, "recovered": 1, "alarms": 0, "sensitivity": 1.0}
    assert s["activities"]["D13"] == {"trials": 1, "alarms": 0, "recovered": 1}
    assert s["trials"] == 6  # spliced trials are reported apart, not as trials of the data set
