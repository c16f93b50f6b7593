"""Grading tables: Chinese hypertension guideline 2018 categories, capillary glucose lines, trends."""

from __future__ import annotations

import pytest

from hub.config.loader import validate
from hub.health.grading import Thresholds, grade_bp, grade_glucose, trend


@pytest.mark.parametrize(
    ("sys_", "dia", "grade", "isolated", "referral"),
    [
        (110, 70, "normal", False, False),
        (119, 79, "normal", False, False),
        (120, 70, "high_normal", False, False),
        (110, 80, "high_normal", False, False),
        (139, 89, "high_normal", False, False),
        (140, 85, "grade_1", True, False),
        (130, 90, "grade_1", False, False),
        (159, 99, "grade_1", False, False),
        (160, 95, "grade_2", False, False),
        (150, 100, "grade_2", False, False),
        (179, 109, "grade_2", False, False),
        (180, 80, "grade_3", True, True),
        (150, 110, "grade_3", False, True),
        (185, 112, "grade_3", False, True),
        (165, 85, "grade_2", True, False),  # isolated systolic keeps its grade by systolic
        (118, 105, "grade_2", False, False),  # the higher category wins
    ],
)
def test_bp_grades(sys_: float, dia: float, grade: str, isolated: bool, referral: bool) -> None:
    g = grade_bp(sys_, dia)
    assert (g.grade, g.isolated_systolic, g.referral) == (grade, isolated, referral)


@pytest.mark.parametrize(
    ("mmol", "meal", "category", "referral"),
    [
        (2.9, "fasting", "hypo_severe", True),
        (3.0, None, "hypo", True),
        (3.8, "after", "hypo", True),
        (3.9, "fasting", "normal", True),
        (4.0, "fasting", "normal", False),
        (6.9, "fasting", "normal", False),
        (7.0, "fasting", "high", False),
        (7.0, "before", "normal", False),
        (7.0, None, "normal", False),
        (11.0, "after", "normal", False),
        (11.1, "after", "high", False),
        (11.1, "bedtime", "high", False),
        (16.6, None, "high", False),
        (16.7, "fasting", "dangerous", True),
        (25.0, "after", "dangerous", True),
    ],
)
def test_glucose_categories(mmol: float, meal: str | None, category: str, referral: bool) -> None:
    g = grade_glucose(mmol, meal)
    assert (g.category, g.referral) == (category, referral)


@pytest.mark.parametrize(
    ("mmol", "meal", "out_of_range", "category", "fasting"),
    [
        (None, None, "high", "dangerous", False),
        (None, "fasting", "high", "dangerous", True),
        (None, "after", "low", "hypo_severe", False),
        (None, "fasting", "low", "hypo_severe", True),
        (5.5, None, "high", "dangerous", False),  # the meter's HI wins over any number passed with it
    ],
)
def test_glucose_beyond_the_meters_range(
    mmol: float | None, meal: str | None, out_of_range: str, category: str, fasting: bool
) -> None:
    g = grade_glucose(mmol, meal, Thresholds(), out_of_range)
    assert (g.category, g.referral, g.fasting) == (category, True, fasting)


@pytest.mark.parametrize(
    ("mmol", "out_of_range", "message"),
    [(None, None, "without a value"), (None, "HI", "'high' or 'low'"), (5.0, "above", "'high' or 'low'")],
)
def test_glucose_grading_rejects_a_missing_value_or_unknown_range(
    mmol: float | None, out_of_range: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        grade_glucose(mmol, None, Thresholds(), out_of_range)


def test_thresholds_come_from_config() -> None:
    cfg = validate({"health_grading": {"bp_grade3_sys": 170, "fasting_meals": ["fasting", "before"]}})
    t = Thresholds.from_config(cfg["health_grading"])
    assert grade_bp(172, 80, t).grade == "grade_3" and grade_bp(172, 80).grade == "grade_2"
    assert grade_glucose(7.2, "before", t).category == "high"


@pytest.mark.parametrize(
    ("bp", "glucose", "level", "follow_up"),
    [
        ([], [], 1, False),
        ([(118, 76)] * 3, [(5.5, "fasting")], 1, False),
        ([(145, 88)] * 3, [], 2, False),
        ([(165, 95), (158, 99), (170, 101)], [], 3, True),
        ([(185, 112)], [], 3, False),  # one reading is not a trend: level 3, no follow-up yet
        ([], [(7.8, "fasting"), (7.4, "fasting"), (9.0, "after")], 2, False),
        ([], [(5.0, None), (2.8, "fasting")], 3, True),
        ([], [(3.5, None), (3.7, None), (6.0, None)], 3, True),
        ([], [(18.0, "after"), (17.5, None)], 3, False),  # avg dangerous -> level 3 and follow-up
    ],
)
def test_trend_levels(
    bp: list[tuple[float, float]], glucose: list[tuple[float, str | None]], level: int, follow_up: bool
) -> None:
    t = trend(bp, glucose)
    assert t.level == level
    if glucose and level == 3:
        assert t.follow_up
    else:
        assert t.follow_up is follow_up
    assert t.level_name == {1: "一级", 2: "二级", 3: "三级"}[level]
