"""A measurement read back to the resident in plain words: "血压135，85，正常高值", "血糖6.1，正常".

Only a reading just taken is read out: a meter's stored history, downloaded later, is sent to the
platform without a word. The numbers stay digits in the prompt fields; the voice reads them as
Mandarin numbers (voice/normalise.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

BP_WORDS = {"normal": ("正常", "normal"), "high_normal": ("正常高值", "high normal"), "grade_1": ("偏高", "high"),
            "grade_2": ("高", "high, grade 2"), "grade_3": ("很高", "very high")}
GLUCOSE_WORDS = {"hypo_severe": ("很低", "very low"), "hypo": ("偏低", "low"), "normal": ("正常", "normal"),
                 "high": ("偏高", "high"), "dangerous": ("很高", "very high")}
JUST_TAKEN = timedelta(minutes=15)


def readback(event_type: str, data: dict[str, Any], now: datetime) -> tuple[str, dict[str, Any]] | None:
    """(prompt key, fields) to say for this measurement event's data, or None."""
    taken = datetime.fromisoformat(data["meter_time"]) if data.get("time_source") == "meter" else None
    if taken is not None and now - taken > JUST_TAKEN:
        return None  # from the meter's memory
    if event_type == "measurement.blood_pressure" and data.get("grade") in BP_WORDS:
        zh, en = BP_WORDS[data["grade"]]
        return "health_bp_reading", {"systolic": round(data["systolic"]), "diastolic": round(data["diastolic"]),
                                     "grade": zh, "grade_en": en}
    if event_type == "measurement.glucose" and data.get("category") in GLUCOSE_WORDS:
        zh, en = GLUCOSE_WORDS[data["category"]]
        if data.get("mmol_per_l") is None:  # the meter showed HI / LO
            return "health_glucose_out_of_range", {"grade": zh, "grade_en": en}
        return "health_glucose_reading", {"mmol": f"{data['mmol_per_l']:.1f}", "grade": zh, "grade_en": en}
    return None
