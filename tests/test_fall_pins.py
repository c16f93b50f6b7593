"""Pinned fall-detection figures on the development recordings (issue 22): per group (SA young, SE older)
sensitivity for any fall event and for alarms, specificity, falls the wearer got up from (spliced), and
false alarms / false recovered-fall events per day of wear, with the shipped weights and nested leave-one-
subject-out (weights and the landing's constants chosen without the subject scored); each held to the
figure in tests/detection_pins.toml minus its margin. The figures are computed once per version of
hub/detect, this file and the data, and shared by the workers and later runs (tests/pin_cache.py). Skipped without
../shared/data, except under CI=true, where the data sits beside the clone and its absence is a failure."""

from __future__ import annotations

import hashlib
import os
import random
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pin_cache import cache_dir, cached, source_key
from support import ROOT, SISFALL

from hub.detect.evaluation.cross_validation import decide
from hub.detect.evaluation.falls import Trial, TrialResult, find_trials, read_waist_adxl, run_trial, summarise
from hub.detect.evaluation.nested import nested_cross_validate
from hub.detect.evaluation.soften import STAYED, TRANSFORMS, soften_trials, softened_table
from hub.detect.evaluation.splice import got_up_trials
from hub.detect.evaluation.wear import cv_scorer, summarise_wear, wear_streams
from hub.detect.fall.detector import FallParams
from hub.detect.fall.phases import FEATURES, HARD_DROP_MS, TURNED_DEG, UPRIGHT_AFTER_DEG

SLOW_GET_UP_S = 25.0  # hub eval fall --get-up-s: still reclined at the end of the post phase
PINS: dict[str, Any] = tomllib.loads((ROOT / "tests" / "detection_pins.toml").read_text())["fall"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def stratified(root: Path, seed: int) -> list[Trial]:
    """One trial per (subject, activity code), drawn with a fixed seed."""
    by: dict[tuple[str, str], list[Trial]] = {}
    for trial in find_trials(root):
        by.setdefault((trial.subject, trial.code), []).append(trial)
    rng = random.Random(seed)
    return [rng.choice(trials) for _, trials in sorted(by.items())]


# What the figures depend on: the detector and its evaluation, this file (how they are computed) and the
# pins' seed. A change to any of them (or to the data) computes them again.
SOURCES = (ROOT / "hub" / "detect", Path(__file__))


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The figures, computed once per version of the sources and the data for every worker and run
    (tests/pin_cache.py): 40-75 s of streaming and refitting otherwise repeated on each xdist worker."""
    if not SISFALL.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"SisFall development data missing at {SISFALL}: the pinned figures cannot be checked")
        pytest.skip(f"SisFall development data not at {SISFALL}")
    key = source_key(SOURCES, SISFALL) + f" seed {PINS['seed']}"
    return cached(cache_dir(tmp_path_factory), "fall-pins", hashlib.sha256(key.encode()).hexdigest(), compute_figures)


def compute_figures() -> dict[str, dict[str, Any]]:
    seed = PINS["seed"]
    subset = stratified(SISFALL, seed)
    results = [run_trial(t, read_waist_adxl(t.path)) for t in subset]
    results += [run_trial(t, acc) for t, acc in got_up_trials(subset, seed)]
    streams = wear_streams(subset, None, seed)
    threshold = FallParams().threshold
    # Older adults' falls made from the subset's falls around a chair, and lying down and staying (soften.py):
    # scored with each fold's weights and constants, never trained or chosen on.
    softened = [run_trial(t, acc) for t, acc in soften_trials(subset)]
    outcomes, folds, _ = nested_cross_validate(results + softened, streams, threshold)
    limits = {s: f.limits.values() for s, f in folds.items()}
    scorer = cv_scorer({s: f.weights for s, f in folds.items()}, threshold, limits)
    # Slow get-ups (25 s, through a reclined posture: not up at the end of the post phase), scored with
    # each fold's weights and constants (chosen without them: they are not in the nested selection).
    slow = [run_trial(t, acc) for t, acc in got_up_trials(subset, seed, SLOW_GET_UP_S)]

    def nested(r: TrialResult) -> bool:
        f = folds[r.trial.subject]
        return any(decide(f.weights, threshold, tuple(c), rule, landing, *f.limits.values(), watch=watch) is not None
                   for c, rule, landing, watch in r.decided())
    return {"shipped": {**summarise(results), "wear": summarise_wear(streams),
                        "slow": sum(r.outcome is not None for r in slow) / len(slow),
                        "softened": softened_table(softened)},
            "loso": {**summarise(results, outcomes), "wear": summarise_wear(streams, scorer),
                     "slow": sum(nested(r) for r in slow) / len(slow),
                     "softened": softened_table(softened, outcomes)}}


def test_the_subset_is_the_pinned_one(figures: dict[str, dict[str, Any]]) -> None:
    assert figures["shipped"]["trials"] == PINS["trials"]


@pytest.mark.parametrize("how", ["shipped", "loso"])
@pytest.mark.parametrize("group", ["SA", "SE"])
def test_detector_holds_its_figures(figures: dict[str, dict[str, Any]], how: str, group: str) -> None:
    got = figures[how]["groups"][group]
    wear = figures[how]["wear"]["groups"][group]
    measured = {"sensitivity": got["sensitivity"], "sensitivity_alarm": got["sensitivity_alarm"],
                "specificity": got["specificity"], "got_up": got["got_up"]["sensitivity"],
                "false_alarms_per_day": wear["per_day"], "recovered_per_day": wear["recovered_per_day"],
                **({"got_up_25s": figures[how]["slow"]} if group == "SA" else {})}
    print(f"{how} {group}: measured {measured}")
    pin = PINS[how][group]
    report = f"{how} {group}: measured {measured}; pinned {pin}"
    for key in ("sensitivity", "sensitivity_alarm", "specificity", "got_up", "got_up_25s"):
        if key in pin:
            assert measured[key] >= pin[key] - PINS["rate_margin"], report
    for key in ("false_alarms_per_day", "recovered_per_day"):
        assert measured[key] <= pin[key] + PINS["per_day_margin"], report


@pytest.mark.parametrize("how", ["shipped", "loso"])
def test_older_adults_falls_hold_their_figures(figures: dict[str, dict[str, Any]], how: str) -> None:
    """Round 9: the subset's falls around a chair made slower / softer are reported at least as often as
    pinned, and lying down on a bed and staying there alarms no more often than pinned."""
    got = figures[how]["softened"]
    measured = {name: got[name]["sensitivity"] for name in TRANSFORMS}
    stay = got[STAYED]["alarms"] + got[STAYED]["recovered"]
    pin = PINS["softened"][how]
    report = f"{how}: measured {measured}, lying down and staying {stay} false events; pinned {pin}"
    print(report)
    for name in TRANSFORMS:
        assert measured[name] >= pin[name] - PINS["rate_margin"], report
    assert stay <= pin[STAYED], report


def test_a_hard_drop_is_told_from_sitting_down_quickly_with_a_margin() -> None:
    """The hard-drop rule on the recordings it was written for and the ADLs nearest to it: SA11's five
    backward falls from sitting (F14: reclined, not lying, 2.15-2.32 m/s) are reported as an alarm or,
    spliced with getting up, as a fall the wearer got up from; sitting down quickly on a low chair and
    collapsing into a chair (D10, D11 of SE08 and SA02, the fastest turned, reclined ADL landings on
    SisFall: 1.41 m/s at most) stay at least 0.5 m/s below `HARD_DROP_MS`."""
    if not SISFALL.is_dir():
        pytest.skip(f"SisFall development data not at {SISFALL}")
    falls = [Trial(SISFALL / "SA11" / f"F14_SA11_R0{k}.txt.gz", "F14", "SA11") for k in range(1, 6)]
    walk = Trial(SISFALL / "SA11" / "D01_SA11_R01.txt.gz", "D01", "SA11")
    plain = [run_trial(t, read_waist_adxl(t.path)) for t in falls]
    spliced = [run_trial(t, acc) for t, acc in got_up_trials([*falls, walk], 0)]
    assert len(spliced) == 5
    assert all(r.outcome is not None for r in plain + spliced), [(r.trial.key, r.outcome) for r in plain + spliced]
    assert sum(r.rules.count("hard_drop") for r in plain) >= 1
    drops = []
    for subject in ("SE08", "SA02"):
        for code in ("D10", "D11"):
            for path in sorted((SISFALL / subject).glob(f"{code}_{subject}_R*.txt*")):
                r = run_trial(Trial(path, code, subject), read_waist_adxl(path))
                assert r.outcome is None and "hard_drop" not in r.rules, r.trial.key
                drops += [land[len(FEATURES)] for land in r.landings
                          if land is not None and land[1] * 90 >= TURNED_DEG and land[3] * 90 >= UPRIGHT_AFTER_DEG]
    assert drops and max(drops) <= HARD_DROP_MS - 0.5, max(drops)
