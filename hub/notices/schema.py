"""Config sections: [notices] (what the platform's `cmd/notice` may ask, the resident's day hours) and
[[reminders]] (medication and measurement reminders kept on the unit, working offline)."""

from __future__ import annotations

import re
from typing import Any

from hub.config.keys import Key, Section, hhmm_problem

KINDS = ("medication", "measure_bp", "measure_glucose")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


NOTICES = Section("notices", "Notices the community platform sends (`cmd/notice`: heat, typhoon, anti-fraud "
                             "warnings): spoken through the normal voice or played as a recording, confirmed by "
                             "a press (docs/voice.md, Notices and reminders).", {
    "enabled": Key(True, "Accept cmd/notice from the platform."),
    "day_start": Key("07:30", "The resident's day starts (HH:MM, local): an info notice waits for it.",
                     min=5, max=5, rule=hhmm_problem),
    "day_end": Key("21:00", "The resident's day ends (HH:MM, local): info notices after it wait for the morning.",
                   min=5, max=5, rule=hhmm_problem),
    "max_pending": Key(16, "Notices kept at once; a full queue refuses a new one unless it outranks one held.",
                       min=1, max=64),
    "max_text_chars": Key(120, "Longest notice text (characters) the unit will say.", min=10, max=300),
    "max_audio_bytes": Key(48000, "Largest recording (bytes, before base64); it also has to fit [mqtt] "
                                  "max_payload_bytes.", min=1000, max=4_000_000),
    "max_audio_s": Key(30.0, "Longest recording (seconds).", min=1, max=120),
    "confirm_window_s": Key(120.0, "After a notice or reminder that asks for a press has been said, a press "
                                   "this soon confirms it (raises no call; held 2 s it still calls).",
                            min=10, max=1800),
    "max_repeats": Key(12, "A notice is said at most this many times, however often repeat_s asks.",
                       min=1, max=100),
})

REMINDERS = Section("reminders", "Reminders kept on the unit: one [[reminders]] table each; said at their "
                                 "times, confirmed by a press (or by a reading from the meter for a "
                                 "measurement), reminder.missed after the window.", {
    "id": Key("medicine-morning", "Name of this reminder (letters, digits, - and _), in its events.",
              min=1, max=32),
    "kind": Key("medication", "What it reminds of.", choices=KINDS),
    "times": Key(["08:00"], "Local times (HH:MM) it is due each day.", kind=list, example=["08:00", "20:00"]),
    "days": Key([], "Days it applies (mon..sun); [] = every day.", kind=list, example=["mon", "thu"]),
    "window_min": Key(30.0, "Minutes from the due time in which it may be confirmed; then reminder.missed.",
                      min=5, max=240),
    "repeat_min": Key(10.0, "Minutes between repeats while it is not confirmed.", min=1, max=120),
    "repeat_max": Key(3, "Said at most this many times per due time.", min=1, max=10),
    "text": Key("", "Prompt key said instead of the kind's own (a reminder_* key of voice/prompts.toml); "
                    "'' = the kind's.", min=0, max=48),
}, many=True, default_items=[])

SECTIONS = [NOTICES, REMINDERS]


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, r in enumerate(cfg.get("reminders", [])):
        where = f"reminders[{i}]"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", r["id"]):
            problems.append((f"{where}.id", f"{r['id']!r}: letters, digits, - and _ only"))
        if r["id"] in seen:
            problems.append((f"{where}.id", f"{r['id']!r} is used twice; give each reminder its own id"))
        seen.add(r["id"])
        if not r["times"] or len(r["times"]) > 12:
            problems.append((f"{where}.times", "give 1 to 12 times HH:MM"))
        for t in r["times"]:
            if hhmm_problem(t):
                problems.append((f"{where}.times", hhmm_problem(t)))
        for d in r["days"]:
            if d not in DAYS:
                problems.append((f"{where}.days", f"{d!r} is not one of {', '.join(DAYS)}"))
        if r["text"] and (not r["text"].startswith("reminder_") or r["text"] not in _catalogue()):
            problems.append((f"{where}.text", f"{r['text']!r}: a reminder_* prompt key of voice/prompts.toml"))
        if r["window_min"] <= r["repeat_min"] * (r["repeat_max"] - 1):
            problems.append((f"{where}.window_min", "the window must outlast the repeats: make it longer than "
                                                    "repeat_min × (repeat_max - 1)"))
    return problems


def _catalogue() -> set[str]:
    from voice.catalogue import catalogue  # only when a reminder names its own prompt
    return set(catalogue())
