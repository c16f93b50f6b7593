"""Grading of blood pressure and glucose readings the way community chronic-disease follow-up does it.

Pure functions: numbers and thresholds in, verdicts out. The thresholds come from config
([health_grading], hub/health/schema.py); docs/health.md cites where each default comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

GRADES = ("normal", "high_normal", "grade_1", "grade_2", "grade_3")
CATEGORIES = ("hypo_severe", "hypo", "normal", "high", "dangerous")
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}  # prevention, mild, severe management


@dataclass(frozen=True)
class Thresholds:
    bp_sys: tuple[float, float, float, float] = (120, 140, 160, 180)  # high-normal, grade 1, 2, 3
    bp_dia: tuple[float, float, float, float] = (80, 90, 100, 110)
    hypo: float = 3.9
    hypo_severe: float = 3.0
    fasting_high: float = 7.0
    nonfasting_high: float = 11.1
    dangerous: float = 16.7
    referral_low: float = 3.9
    fasting_meals: tuple[str, ...] = ("fasting",)
    follow_up_bp_grade: str = "grade_2"
    follow_up_min_bp: int = 3

    @classmethod
    def from_config(cls, c: Mapping[str, Any]) -> Thresholds:
        return cls(
            bp_sys=(c["bp_high_normal_sys"], c["bp_grade1_sys"], c["bp_grade2_sys"], c["bp_grade3_sys"]),
            bp_dia=(c["bp_high_normal_dia"], c["bp_grade1_dia"], c["bp_grade2_dia"], c["bp_grade3_dia"]),
            hypo=c["glucose_hypo"],
            hypo_severe=c["glucose_hypo_severe"],
            fasting_high=c["glucose_fasting_high"],
            nonfasting_high=c["glucose_nonfasting_high"],
            dangerous=c["glucose_dangerous"],
            referral_low=c["glucose_referral_low"],
            fasting_meals=tuple(c["fasting_meals"]),
            follow_up_bp_grade=c["follow_up_bp_grade"],
            follow_up_min_bp=c["follow_up_min_bp_readings"],
        )


@dataclass(frozen=True)
class BpGrade:
    grade: str
    isolated_systolic: bool
    referral: bool  # urgent: >= 180 and/or >= 110


def _step(value: float, cuts: Sequence[float]) -> int:
    return sum(1 for cut in cuts if value >= cut)


def grade_bp(systolic: float, diastolic: float, t: Thresholds = Thresholds()) -> BpGrade:
    """The higher of the systolic and diastolic categories wins (guideline 2018, table 3)."""
    index = max(_step(systolic, t.bp_sys), _step(diastolic, t.bp_dia))
    isolated = systolic >= t.bp_sys[1] and diastolic < t.bp_dia[1]
    referral = systolic >= t.bp_sys[3] or diastolic >= t.bp_dia[3]
    return BpGrade(GRADES[index], isolated, referral)


@dataclass(frozen=True)
class GlucoseGrade:
    category: str
    referral: bool  # urgent: >= 16.7 or <= 3.9
    fasting: bool  # graded with the fasting threshold


OUT_OF_RANGE = ("high", "low")


def grade_glucose(
    mmol_per_l: float | None,
    meal: str | None,
    t: Thresholds = Thresholds(),
    out_of_range: str | None = None,
) -> GlucoseGrade:
    """Capillary glucose. Without a meal context the reading is random glucose (non-fasting line).

    `out_of_range` "high" / "low" is a meter showing HI / LO (beyond its range, ~33.3 / ~1.1 mmol/L on
    common meters): past every line, so dangerous / severe hypoglycaemia with urgent referral, whatever
    the meal. It wins over any value passed with it.
    """
    fasting = meal in t.fasting_meals
    if out_of_range is not None:
        if out_of_range not in OUT_OF_RANGE:
            raise ValueError(f"glucose out_of_range must be 'high' or 'low', got {out_of_range!r}")
        return GlucoseGrade("dangerous" if out_of_range == "high" else "hypo_severe", True, fasting)
    if mmol_per_l is None:
        raise ValueError("a glucose reading without a value must say out_of_range ('high' or 'low')")
    if mmol_per_l < t.hypo_severe:
        category = "hypo_severe"
    elif mmol_per_l < t.hypo:
        category = "hypo"
    elif mmol_per_l >= t.dangerous:
        category = "dangerous"
    elif mmol_per_l >= (t.fasting_high if fasting else t.nonfasting_high):
        category = "high"
    else:
        category = "normal"
    referral = mmol_per_l >= t.dangerous or mmol_per_l <= t.referral_low
    return GlucoseGrade(category, referral, fasting)


@dataclass(frozen=True)
class Trend:
    level: int  # 1, 2, 3
    bp_level: int | None
    glucose_level: int | None
    bp_count: int
    bp_avg: tuple[float, float] | None
    bp_grade: str | None
    glucose_count: int
    fasting_avg: float | None
    nonfasting_avg: float | None
    hypo_count: int
    follow_up: bool
    reasons: tuple[str, ...]

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "level_name": self.level_name,
            "bp_level": self.bp_level,
            "glucose_level": self.glucose_level,
            "bp_count": self.bp_count,
            "bp_avg": None
            if self.bp_avg is None
            else {"systolic": self.bp_avg[0], "diastolic": self.bp_avg[1]},
            "bp_grade": self.bp_grade,
            "glucose_count": self.glucose_count,
            "fasting_avg": self.fasting_avg,
            "nonfasting_avg": self.nonfasting_avg,
            "hypo_count": self.hypo_count,
            "reasons": list(self.reasons),
        }


def trend(
    bp: Iterable[tuple[float, float]],
    glucose: Iterable[tuple[float, str | None]],
    t: Thresholds = Thresholds(),
) -> Trend:
    """Management level from a window of readings (the caller picks the last `trend_days`).

    BP: the average's grade; normal/high-normal -> 一级, grade 1 -> 二级, grade 2-3 -> 三级.
    Glucose: averages of fasting and of other readings against their lines; high -> 二级; an average
    in the dangerous range, any severe hypoglycaemia or repeated hypoglycaemia -> 三级.
    """
    bp_list, gl_list = list(bp), list(glucose)
    reasons: list[str] = []
    bp_avg = bp_grade = bp_level = None
    if bp_list:
        bp_avg = (round(fmean(s for s, _ in bp_list), 1), round(fmean(d for _, d in bp_list), 1))
        bp_grade = grade_bp(*bp_avg, t).grade
        bp_level = 1 if GRADES.index(bp_grade) <= 1 else 2 if bp_grade == "grade_1" else 3
        if bp_level > 1:
            reasons.append(f"bp_avg_{bp_grade}")
    fasting = [v for v, meal in gl_list if meal in t.fasting_meals]
    other = [v for v, meal in gl_list if meal not in t.fasting_meals]
    fasting_avg = round(fmean(fasting), 2) if fasting else None
    other_avg = round(fmean(other), 2) if other else None
    hypos = [v for v, _ in gl_list if v < t.hypo]
    glucose_level = None
    if gl_list:
        glucose_level = 1
        averages = [(fasting_avg, t.fasting_high), (other_avg, t.nonfasting_high)]
        if any(a is not None and a >= high for a, high in averages):
            glucose_level = 2
            reasons.append("glucose_avg_high")
        if any(a is not None and a >= t.dangerous for a, _ in averages):
            glucose_level = 3
            reasons.append("glucose_avg_dangerous")
        if any(v < t.hypo_severe for v in hypos) or len(hypos) >= 2:
            glucose_level = 3
            reasons.append("hypoglycaemia")
    level = max(bp_level or 1, glucose_level or 1)
    bp_due = (
        bp_grade is not None
        and len(bp_list) >= t.follow_up_min_bp
        and GRADES.index(bp_grade) >= GRADES.index(t.follow_up_bp_grade)
    )
    follow_up = bp_due or glucose_level == 3
    return Trend(
        level,
        bp_level,
        glucose_level,
        len(bp_list),
        bp_avg,
        bp_grade,
        len(gl_list),
        fasting_avg,
        other_avg,
        len(hypos),
        follow_up,
        tuple(reasons),
    )
