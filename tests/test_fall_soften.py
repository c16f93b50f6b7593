"""Older adults' slower and softer falls made from the young adults' (hub/detect/evaluation/soften.py):
what each transform keeps (the posture the fall passes through and ends in) and what it changes (how
fast, how hard), and `hub eval fall --soften` reporting them apart from the real trials and the got-up
splices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import sisfall_subset

from hub.cli import main
from hub.detect.evaluation.soften import (
    DESCENT_S,
    RISE_S,
    TRANSFORMS,
    impact_index,
    posture,
    slowed,
    softened,
    stayed,
    transformed,
)

RATE = 200.0
UP = np.array([0.0, -1.0, 0.0])
SIDE = np.array([0.0, 0.0, -1.0])


def chair_fall() -> np.ndarray:
    """Seated 4 s, a 1.5 s turn to lying on the side with |a| sagging to 0.6 g (part free fall), a 4 g
    impact along the lying posture, then lying still 6 s; with sensor noise."""
    seated = np.tile(UP, (800, 1))
    k = np.linspace(0.0, 1.0, 300)[:, None]
    path = UP * (1 - k) + SIDE * k
    sag = 1.0 - 0.4 * np.sin(np.pi * k)
    turn = path / np.linalg.norm(path, axis=1, keepdims=True) * sag
    j = np.linspace(0.0, 1.0, 16)[:, None]
    impact = SIDE * (1.0 + 3.0 * np.exp(-((j - 0.4) / 0.2) ** 2))
    lying = np.tile(SIDE, (1200, 1))
    acc = np.vstack((seated, turn, impact, lying))
    return acc + np.random.default_rng(5).normal(0.0, 0.01, acc.shape)


def tilt(acc: np.ndarray) -> np.ndarray:
    unit = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip(unit @ UP, -1.0, 1.0)))


def test_posture_ignores_the_impact_and_keeps_the_lying_posture() -> None:
    acc = chair_fall()
    grav = posture(acc)
    i = impact_index(acc)
    assert np.linalg.norm(acc[i]) > 3.5  # the impact is in the signal...
    assert np.linalg.norm(grav[i]) == pytest.approx(1.0, abs=0.05)  # ...not in the posture
    assert tilt(grav[-100:]).mean() == pytest.approx(90.0, abs=3.0)


def test_a_softened_fall_hits_softer_and_drops_less_but_ends_lying_the_same() -> None:
    acc = chair_fall()
    soft = softened(acc, 0.4)
    mag, soft_mag = np.linalg.norm(acc, axis=1), np.linalg.norm(soft, axis=1)
    i = impact_index(acc)
    assert soft_mag[i] - 1.0 == pytest.approx(0.4 * (mag[i] - 1.0), rel=0.1)  # the dynamic part, x0.4
    sag, soft_sag = 1.0 - mag[i - 200:i].min(), 1.0 - soft_mag[i - 200:i].min()
    assert soft_sag == pytest.approx(0.4 * sag, rel=0.15)  # less free fall in the second before
    assert np.allclose(soft[:i - 300], acc[:i - 300])  # seated before: untouched
    assert np.allclose(soft[-600:], acc[-600:])  # lying after: untouched


def test_a_slowed_fall_turns_k_times_slower_through_the_same_postures_and_lands_softer() -> None:
    acc = chair_fall()
    k = 1.6
    slow = slowed(acc, k)
    stretched = round(round((DESCENT_S) * RATE) * (k - 1))
    assert len(slow) == len(acc) + stretched
    # the turn from seated to lying (tilt 20 -> 70 degrees) takes k times as long
    def turn_s(a: np.ndarray) -> float:
        t = tilt(posture(a))
        return float((np.argmax(t > 70.0) - np.argmax(t > 20.0)) / RATE)
    assert turn_s(slow) == pytest.approx(k * turn_s(acc), rel=0.1)
    # the same postures, in order: the tilt path resampled at the stretched times matches
    i, j = impact_index(acc), impact_index(slow)
    assert j - i == stretched
    rise = round(RISE_S * RATE)
    before, after = tilt(posture(acc))[i - rise - 400:i - rise], tilt(posture(slow))[j - rise - round(400 * k):j - rise]
    assert np.allclose(np.interp(np.linspace(0, 1, 50), np.linspace(0, 1, len(after)), after),
                       np.interp(np.linspace(0, 1, 50), np.linspace(0, 1, len(before)), before), atol=4.0)
    mag, slow_mag = np.linalg.norm(acc, axis=1), np.linalg.norm(slow, axis=1)
    assert slow_mag[j] - 1.0 == pytest.approx((mag[i] - 1.0) / k, rel=0.1)  # arrives k times slower
    assert np.allclose(slow[-600:], acc[-600:])  # lying after: untouched


def test_every_transform_keeps_where_the_fall_ends() -> None:
    acc = chair_fall()
    for name in TRANSFORMS:
        made = transformed(acc, name)
        assert np.allclose(made[-200:].mean(axis=0), acc[-200:].mean(axis=0), atol=0.01), name
        assert np.linalg.norm(made, axis=1).max() < np.linalg.norm(acc, axis=1).max(), name


def test_lying_down_and_staying_is_cut_where_the_lying_ends() -> None:
    seated = np.tile(UP, (600, 1))
    k = np.linspace(0.0, 1.0, 100)[:, None]
    down = (UP * (1 - k) + SIDE * k) / np.linalg.norm(UP * (1 - k) + SIDE * k, axis=1, keepdims=True)
    lying, up_again = np.tile(SIDE, (700, 1)), np.tile(UP, (900, 1))
    trial = np.vstack((seated, down, lying, down[::-1], up_again))  # D13: lies down, then sits up again
    cut = stayed(trial)
    assert cut is not None and len(cut) == 1400  # the last 0.5 s block still lying: sitting up is gone
    assert tilt(cut[-100:]).mean() > 80.0  # the padding that follows holds her lying there
    assert stayed(np.vstack((seated, up_again))) is None  # never lay down: nothing to make


def test_eval_fall_soften_reports_each_transform_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = sisfall_subset(tmp_path, ["SA01/F01_SA01_R01", "SA01/F13_SA01_R02", "SA01/D01_SA01_R01",
                                     "SA01/D13_SA01_R01", "SE01/D11_SE01_R01"])
    assert main(["eval", "fall", "--dataset", "sisfall", str(root), "--soften", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["softened"]) == {*TRANSFORMS, "lay_down_stay"}
    stay = result["softened"].pop("lay_down_stay")  # D13 cut where the lying ends: an ADL, false events
    assert stay["adl"] and stay["trials"] == 1 and set(stay["codes"]) == {"D13"}
    for v in result["softened"].values():  # only the chair fall (F13), not the fall from walking (F01)
        assert not v["adl"] and v["trials"] == 1 and set(v["codes"]) == {"F13"} and set(v["subjects"]) == {"SA01"}
    assert result["groups"]["SA"]["falls"] == 2 and result["groups"]["SA"]["adls"] == 2  # the real trials, as before
    assert result["subjects_table"]["SA01"]["adls"] == 2
    assert result["groups"]["SA"]["got_up"]["trials"] == 2  # and the got-up splices
    assert main(["eval", "fall", "--dataset", "sisfall", str(root), "--soften", "all"]) == 0
    out = capsys.readouterr().out
    assert "older adults' falls" in out and "slow1.3+soft0.6" in out and "F01 " in out.split("older adults")[1]
