"""Pulse and ketone lines at their boundaries, the severity order behind alert repeats, and the gate."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from hub.health.alerts import AlertGate
from hub.health.vitals import grade_ketone, grade_pulse, severity


@pytest.mark.parametrize(
    ("pulse", "category", "follow_up", "alert"),
    [
        (25, "very_low", False, "pulse_low"),
        (39.9, "very_low", False, "pulse_low"),
        (40, "low", True, None),
        (49, "low", True, None),
        (50, "normal", False, None),
        (100, "normal", False, None),
        (101, "high", True, None),
        (130, "high", True, None),
        (131, "very_high", False, "pulse_high"),
    ],
)
def test_pulse_lines(pulse: float, category: str, follow_up: bool, alert: str | None) -> None:
    g = grade_pulse(pulse)
    assert (g.category, g.follow_up, g.alert) == (category, follow_up, alert)


@pytest.mark.parametrize(
    ("mmol", "category", "follow_up", "referral"),
    [
        (0.1, "normal", False, False),
        (0.6, "elevated", False, False),
        (1.4, "elevated", False, False),
        (1.5, "high", True, False),
        (2.9, "high", True, False),
        (3.0, "dangerous", True, True),
    ],
)
def test_ketone_lines(mmol: float, category: str, follow_up: bool, referral: bool) -> None:
    g = grade_ketone(mmol)
    assert (g.category, g.follow_up, g.referral) == (category, follow_up, referral)


@pytest.mark.parametrize(
    ("reason", "milder", "worse"),
    [
        ("bp_grade_3", {"systolic": 185, "diastolic": 112}, {"systolic": 200, "diastolic": 125}),
        ("bp_grade_3", {"systolic": 185, "diastolic": 112}, {"systolic": 182, "diastolic": 118}),  # diastolic
        ("glucose_dangerous", {"mmol_per_l": 18.0}, {"mmol_per_l": None, "out_of_range": "high"}),
        ("glucose_low", {"mmol_per_l": 3.5}, {"mmol_per_l": 2.4}),
        ("glucose_low", {"mmol_per_l": 2.4}, {"mmol_per_l": None, "out_of_range": "low"}),
        ("pulse_low", {"pulse": 38}, {"pulse": 32}),
        ("pulse_high", {"pulse": 135}, {"pulse": 160}),
        ("ketone_high", {"mmol_per_l": 3.1}, {"mmol_per_l": 4.5}),
    ],
)
def test_severity_orders_readings(reason: str, milder: dict[str, object], worse: dict[str, object]) -> None:
    assert severity(reason, worse) > severity(reason, milder)


def test_gate_window_and_severity() -> None:
    t0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    gate = AlertGate(60)
    assert gate.repeat_of("m", "bp_grade_3", 1.03, t0) is None
    gate.raised("m", "bp_grade_3", 1.03, t0, "alert-1")
    assert gate.repeat_of("m", "bp_grade_3", 1.03, t0 + timedelta(minutes=10)) == "alert-1"  # same
    assert gate.repeat_of("m", "bp_grade_3", 1.01, t0 + timedelta(minutes=59)) == "alert-1"  # milder
    assert gate.repeat_of("m", "bp_grade_3", 1.10, t0 + timedelta(minutes=10)) is None  # worse
    assert gate.repeat_of("m", "bp_grade_3", 1.00, t0 + timedelta(minutes=60)) is None  # window over
    assert gate.repeat_of("other", "bp_grade_3", 1.00, t0) is None  # per meter
    assert gate.repeat_of("m", "pulse_low", -math.inf, t0) is None  # per reason
    assert AlertGate(0).repeat_of("m", "bp_grade_3", 1.0, t0) is None


def test_gate_after_the_clock_was_set_back_alerts_again() -> None:
    t0 = datetime(2025, 5, 6, 8, 0, tzinfo=UTC)
    gate = AlertGate(60)
    gate.raised("m", "bp_grade_3", 1.03, t0, "alert-1")
    # NTP set the clock a year back: the last alert is "in the future"; its window must not last a year.
    assert gate.repeat_of("m", "bp_grade_3", 1.03, t0 - timedelta(days=365)) is None
