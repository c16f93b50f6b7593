"""Event data for one meter reading: the common time fields, the raw values, the grade (or why there is
none) and the alerts the reading calls for. Pure: the component raises what these return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.core.events import iso_ms
from hub.health.grading import Thresholds, grade_bp, grade_glucose
from hub.health.vitals import VitalLines, grade_ketone, grade_pulse
from sensors.meters.readings import BloodPressureReading, GlucoseReading, KetoneReading

ADVICE = {
    "bp_grade_3": "health_bp_very_high",
    "glucose_dangerous": "health_glucose_very_high",
    "glucose_low": "health_glucose_low",
    "pulse_low": "health_pulse_abnormal",
    "pulse_high": "health_pulse_abnormal",
    "ketone_high": "health_ketone_high",
}
KIND = {
    "bp_grade_3": "blood_pressure",
    "glucose_dangerous": "glucose",
    "glucose_low": "glucose",
    "pulse_low": "pulse",
    "pulse_high": "pulse",
    "ketone_high": "ketone",
}


@dataclass
class Graded:
    event_type: str
    data: dict[str, Any]
    alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (reason, values)
    history: tuple[str, float, float | None, str | None] | None = None  # add_history arguments


def common(reading: BloodPressureReading | GlucoseReading | KetoneReading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "meter": reading.meter,
        "meter_time": None if reading.meter_time is None else iso_ms(reading.meter_time),
        "time_status": reading.time_status,
        # which clock the event's ts is: the meter's when its stamp is usable, else the hub's receive time
        "time_source": "meter" if reading.time_status == "ok" and reading.meter_time else "hub",
        "received_at": iso_ms(reading.received_at),
        "meter_profile": reading.profile,
        "implausible": list(reading.implausible),
        "graded": not reading.implausible,
    }
    if reading.time_problem is not None:
        out["time_problem"] = reading.time_problem
    return out


def blood_pressure(r: BloodPressureReading, t: Thresholds, lines: VitalLines) -> Graded:
    data = {
        **common(r),
        "systolic": r.systolic_mmhg,
        "diastolic": r.diastolic_mmhg,
        "mean_arterial": r.mean_arterial_mmhg,
        "pulse": r.pulse,
        "unit": "mmHg",
        "user_id": r.user_id,
        "status": r.status,
        "raw": r.raw,
        "grade": None,
        "isolated_systolic": None,
        "referral": False,
        "pulse_category": None,
        "pulse_follow_up": False,
    }
    out = Graded("measurement.blood_pressure", data)
    pressures_ok = not {"systolic", "diastolic"} & set(r.implausible)
    if pressures_ok:
        g = grade_bp(r.systolic_mmhg, r.diastolic_mmhg, t)
        data.update(grade=g.grade, isolated_systolic=g.isolated_systolic, referral=g.referral)
        out.history = ("bp", r.systolic_mmhg, r.diastolic_mmhg, None)
        if g.referral:
            out.alerts.append(
                ("bp_grade_3", {"systolic": r.systolic_mmhg, "diastolic": r.diastolic_mmhg, "grade": g.grade})
            )
    if r.pulse is not None and "pulse" not in r.implausible:
        p = grade_pulse(r.pulse, lines)
        data.update(pulse_category=p.category, pulse_follow_up=p.follow_up)
        if p.alert:
            out.alerts.append((p.alert, {"pulse": r.pulse, "category": p.category}))
    data["graded"] = pressures_ok
    return out


def glucose(r: GlucoseReading, t: Thresholds) -> Graded:
    data: dict[str, Any] = {
        **common(r),
        "sequence": r.sequence,
        "mmol_per_l": r.mmol_per_l,  # null when the meter showed HI/LO: see out_of_range
        "category": None,
        "graded_as_fasting": r.meal in t.fasting_meals,
        "referral": False,
        "type": r.type,
        "location": r.location,
        "sensor_status": r.sensor_status,
        "raw": {"concentration": r.concentration, "unit": r.unit},
    }
    if r.meal is not None:
        data["meal"] = r.meal
    if r.out_of_range is not None:
        data["out_of_range"] = r.out_of_range
    out = Graded("measurement.glucose", data)
    if r.implausible:
        return out
    mmol, beyond = r.mmol_per_l, r.out_of_range
    gg = grade_glucose(mmol, r.meal, t, beyond)
    data.update(category=gg.category, graded_as_fasting=gg.fasting, referral=gg.referral)
    if mmol is not None:
        # A HI/LO reading is left out of the 7-day history: its value column is averaged, and a
        # stand-in (the meter's limit) would understate a HI. The alert is what must go out for it.
        out.history = ("glucose", mmol, None, r.meal)
    if gg.referral:
        low = beyond == "low" or (beyond is None and mmol is not None and mmol <= t.referral_low)
        values: dict[str, Any] = {"mmol_per_l": mmol, "category": gg.category, "meal": r.meal}
        if beyond is not None:
            values["out_of_range"] = beyond
        out.alerts.append(("glucose_low" if low else "glucose_dangerous", values))
    return out


def ketone(r: KetoneReading, lines: VitalLines) -> Graded:
    data: dict[str, Any] = {
        **common(r),
        "sequence": r.sequence,
        "mmol_per_l": r.mmol_per_l,
        "category": None,
        "follow_up": False,
        "referral": False,
        "raw": {"concentration": r.concentration, "unit": r.unit},
    }
    out = Graded("measurement.ketone", data)
    if not r.implausible:
        k = grade_ketone(r.mmol_per_l, lines)
        data.update(category=k.category, follow_up=k.follow_up, referral=k.referral)
        if k.referral:
            out.alerts.append(("ketone_high", {"mmol_per_l": r.mmol_per_l, "category": k.category}))
    return out
