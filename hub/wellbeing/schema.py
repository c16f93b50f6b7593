"""Config section [wellbeing]: the daily summary and the report (docs/protocol.md, "Wellbeing")."""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section, hhmm_problem


def _words_problem(words: Any) -> str:
    if not all(isinstance(w, str) and 0 < len(w) <= 32 for w in words):
        return "give words of 1-32 characters, e.g. [\"washroom\", \"洗手间\"]"
    return "" if len(words) <= 32 else "at most 32 words"


WELLBEING = Section("wellbeing", "The daily wellbeing summary (wellbeing.daily, each morning after the night) "
                                 "and `hub report` charts for the family and the community doctor.", {
    "enabled": Key(True, "Count the day and send wellbeing.daily each morning."),
    "day_start": Key("06:00", "A wellbeing day runs from this time to the same time next day; its summary "
                              "goes out then (HH:MM, local).", min=5, max=5, rule=hhmm_problem),
    "night_start": Key("23:00", "Night window start for night-time getting up and toilet visits (HH:MM).",
                       min=5, max=5, rule=hhmm_problem),
    "night_end": Key("05:30", "Night window end (HH:MM).", min=5, max=5, rule=hhmm_problem),
    "norm_days": Key(14, "Days of this home's own history a day is compared with.", min=7, max=60),
    "bathroom_words": Key([], "More words that mark a bathroom sensor in its name (besides bath, toilet, "
                              "shower, basin, flush, wc, 卫生间, 厕所).", kind=list, rule=_words_problem),
    "kitchen_words": Key([], "More words that mark a kitchen sensor (besides kitchen, fridge, cupboard, "
                             "microwave, cooktop, stove, kettle, 厨房 ...).", kind=list, rule=_words_problem),
    "report_max_kb": Key(512, "Largest report file sent to the platform for cmd/report (kB).", min=64, max=4096),
})

SECTIONS = [WELLBEING]
