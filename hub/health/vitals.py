"""Grading of pulse (from the BP cuff) and blood ketone, and how severe an alert-worthy reading is.

Pure functions. Pulse: a home BP measurement is taken seated after rest, so the cuff's pulse is a
resting heart rate; below `pulse_alert_low` (40) or above `pulse_alert_high` (130) raises
`health.alert`, 40-50 and 100-130 are flagged for follow-up. Ketone (blood beta-hydroxybutyrate,
mmol/L): < 0.6 normal, 0.6-1.5 elevated, 1.5-3.0 high (follow-up), >= 3.0 dangerous (alert).
docs/health.md gives the sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PULSE_CATEGORIES = ("very_low", "low", "normal", "high", "very_high")
KETONE_CATEGORIES = ("normal", "elevated", "high", "dangerous")


@dataclass(frozen=True)
class VitalLines:
    pulse_alert_low: float = 40
    pulse_follow_up_low: float = 50
    pulse_follow_up_high: float = 100
    pulse_alert_high: float = 130
    ketone_elevated: float = 0.6
    ketone_high: float = 1.5
    ketone_dangerous: float = 3.0

    @classmethod
    def from_config(cls, c: Mapping[str, Any]) -> VitalLines:
        return cls(**{k: c[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PulseGrade:
    category: str
    follow_up: bool  # 40-50 or 100-130 at rest
    alert: str | None  # "pulse_low" / "pulse_high" beyond the alert lines


def grade_pulse(pulse: float, lines: VitalLines = VitalLines()) -> PulseGrade:
    if pulse < lines.pulse_alert_low:
        return PulseGrade("very_low", False, "pulse_low")
    if pulse > lines.pulse_alert_high:
        return PulseGrade("very_high", False, "pulse_high")
    if pulse < lines.pulse_follow_up_low:
        return PulseGrade("low", True, None)
    if pulse > lines.pulse_follow_up_high:
        return PulseGrade("high", True, None)
    return PulseGrade("normal", False, None)


@dataclass(frozen=True)
class KetoneGrade:
    category: str
    follow_up: bool
    referral: bool


def grade_ketone(mmol_per_l: float, lines: VitalLines = VitalLines()) -> KetoneGrade:
    if mmol_per_l >= lines.ketone_dangerous:
        return KetoneGrade("dangerous", True, True)
    if mmol_per_l >= lines.ketone_high:
        return KetoneGrade("high", True, False)
    return KetoneGrade("elevated" if mmol_per_l >= lines.ketone_elevated else "normal", False, False)


def severity(reason: str, values: Mapping[str, Any], referral: tuple[float, float] = (180, 110)) -> float:
    """One number per alert reason, larger = worse, to tell a worse repeat from a same-or-milder one.

    BP: the larger of systolic / systolic line and diastolic / diastolic line (200/125 after 185/112 is
    worse); glucose high and ketone: the value (HI is infinite); glucose low and slow pulse: the lower
    the worse (LO is infinite); fast pulse: the value.
    """
    beyond = values.get("out_of_range")
    if reason == "bp_grade_3":
        return max(values["systolic"] / referral[0], values["diastolic"] / referral[1])
    if reason == "glucose_dangerous":
        return math.inf if beyond == "high" else float(values["mmol_per_l"])
    if reason == "glucose_low":
        return math.inf if beyond == "low" else -float(values["mmol_per_l"])
    if reason == "pulse_low":
        return -float(values["pulse"])
    if reason == "pulse_high":
        return float(values["pulse"])
    if reason == "ketone_high":
        return float(values["mmol_per_l"])
    raise ValueError(f"no severity for alert reason {reason!r}")
