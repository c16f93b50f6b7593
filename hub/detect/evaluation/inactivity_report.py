"""The text report of `hub eval inactivity` (hub/detect/evaluation/inactivity.py): one view of one home."""

from __future__ import annotations

from typing import Any


def format_report(name: str, r: dict[str, Any], inputs: str = "all inputs") -> str:
    lines = [
        f"inactivity replay of {name} ({inputs}): {r['days']} days, learning from an empty history",
        f"  untouched log: {r['false_alarms']} false alarms ({r['false_alarms_per_30d']} per 30 days), "
        f"{r['false_checks_per_30d']} check prompts per 30 days (answer rate {r['answer_rate']}; "
        f"{r['false_rechecks_per_30d']} asked again, answer rate {r['repeat_answer_rate']}; "
        f"{r['checks_while_out_per_30d']} of them while out by the full log, in "
        f"{r['absences_checked_per_30d']} absences: one alarm each in practice); "
        f"{r['mat_flickers']} mat flickers absorbed; early checks paused (ceiling on questions) for "
        f"{r['early_paused_pct']} % of the gaps",
    ]
    lines += [f"    false alarm {fa['at']} after {fa['after']} ({fa['gap_min']} min, {fa['reason']}, "
              f"{fa['basis']})" for fa in r["false_alarm_list"][:10]]
    lines += [
        f"  incapacitations injected at random times at home: {r['injections']} (seed {r['seed']}; "
        f"{r['skipped_absent']} draws skipped in {r['absences']} absences), "
        f"detected {r['detected']}, within 12 h {r['detected_within_12h']}",
        "  delay to alarm by time of day:  " + "; ".join(
            f"{p} median {v['median_min']} p90 {v['p90_min']} min (n={v['n']}; oracle {v['oracle_median_min']})"
            for p, v in r["delay_by_time_of_day"].items()),
        f"  day 06-18 median {r['median_delay_min_day']} min, p90 {r['p90_delay_min_day']}; "
        f"night 18-06 median {r['median_delay_min_night']}, p90 {r['p90_delay_min_night']}; "
        f"longest {r['max_delay_min']} min",
        f"  oracle floor (median wait to the resident's next real activity; no check ever wakes them): "
        f"day {r['oracle_median_min_day']} min, night {r['oracle_median_min_night']} min; "
        f"median delay beyond each one's floor: day {r['excess_median_min_day']}, "
        f"night {r['excess_median_min_night']} min",
    ]
    lines += [f"    missed: {m}" for m in r["missed"][:10]]
    return "\n".join(lines)
