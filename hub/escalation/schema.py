"""Config section [escalation]: who the hub reaches, in order, when the platform leaves an alarm alone.

    [escalation]
    enabled = true
    after_s = 120
    steps = [
      { role = "duty", name = "社区值班员", sms = ["+8613800138000"], call = ["+8613800138000"], wait_s = 120 },
      { role = "family", name = "女儿", sms = ["+8613900139000"], call = ["+8613900139000"], wait_s = 300,
        comes = true },
      { role = "neighbour", name = "邻居王阿姨", sms = ["+8613700137000"], wait_s = 300 },
    ]

docs/escalation.md explains every key for installers.
"""

from __future__ import annotations

from typing import Any

from hub.config.keys import Key, Section

ROLES = ("duty", "family", "neighbour", "volunteer")
STEP_KEYS = {"role", "name", "sms", "call", "wait_s", "ring_s", "comes"}
NAME_MAX = 12  # characters: the name is spoken to the resident ("已通知邻居王阿姨…")
WAIT_RANGE, RING_RANGE = (30, 3600), (10, 120)

ESCALATION = Section(
    "escalation",
    "The escalation chain: when an alarm is not acknowledged within after_s, text and call each step in "
    "turn until someone acknowledges (docs/escalation.md).",
    {
        "enabled": Key(False, "Work the chain at all (needs the [modem] for SMS and calls)."),
        "after_s": Key(120, "Seconds the platform may leave an alarm unacknowledged (or be unreachable) before "
                       "the hub works the chain.", min=10, max=3600),
        "steps": Key([], "The chain, in order: a list of { role = duty|family|neighbour|volunteer, name = what "
                     "the resident hears, sms = [numbers], call = [numbers], wait_s = seconds to wait for an "
                     "acknowledgement before the next step (default 120), ring_s = how long each call rings "
                     "(default 30), comes = true if their acknowledgement means they come (default false) }.",
                     kind=list, example=[
                         {"role": "duty", "name": "社区值班员", "sms": ["+8613800138000"],
                          "call": ["+8613800138000"], "wait_s": 120},
                         {"role": "family", "name": "女儿", "sms": ["+8613900139000"],
                          "call": ["+8613900139000"], "wait_s": 300, "comes": True}]),
    },
)

SECTIONS: list[Section] = [ESCALATION]


def _is_number(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip("+").isdigit() and 5 <= len(value.lstrip("+")) <= 20


def _check_range(at: str, key: str, value: Any, bounds: tuple[int, int]) -> list[tuple[str, str]]:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        return [(f"{at}.{key}", f"must be a number of seconds from {low} to {high}, got {value!r}")]
    return []


def check_step(at: str, step: Any) -> list[tuple[str, str]]:
    if not isinstance(step, dict):
        return [(at, f"must be a table like {{ role = \"duty\", name = \"社区值班员\", sms = [...] }}, got {step!r}")]
    if set(step) - STEP_KEYS:
        return [(at, f"unknown key(s) {', '.join(sorted(set(step) - STEP_KEYS))}; allowed: "
                 f"{', '.join(sorted(STEP_KEYS))}")]
    problems: list[tuple[str, str]] = []
    if step.get("role") not in ROLES:
        problems.append((f"{at}.role", f"must be one of {', '.join(ROLES)}, got {step.get('role')!r}"))
    name = step.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        problems.append((f"{at}.name", f"must be what the resident hears, 1 to {NAME_MAX} characters "
                         f"(e.g. \"女儿\", \"邻居王阿姨\"), got {name!r}"))
    for key in ("sms", "call"):
        numbers = step.get(key, [])
        if not isinstance(numbers, list):
            problems.append((f"{at}.{key}", "must be a list of phone numbers like [\"+8613800138000\"], "
                             f"got {numbers!r}"))
            continue
        problems += [(f"{at}.{key}[{i}]", f"{n!r} is not a phone number (digits, an optional leading +, 5 to 20 "
                      "long)") for i, n in enumerate(numbers) if not _is_number(n)]
    if not step.get("sms") and not step.get("call"):
        problems.append((at, "has no sms and no call numbers: nobody would be reached at this step"))
    if "wait_s" in step:
        problems += _check_range(at, "wait_s", step["wait_s"], WAIT_RANGE)
    if "ring_s" in step:
        problems += _check_range(at, "ring_s", step["ring_s"], RING_RANGE)
    if "comes" in step and not isinstance(step["comes"], bool):
        problems.append((f"{at}.comes", f"must be true or false, got {step['comes']!r}"))
    return problems


def check(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    e = cfg["escalation"]
    problems: list[tuple[str, str]] = []
    for i, step in enumerate(e["steps"]):
        problems += check_step(f"escalation.steps[{i}]", step)
    if e["enabled"] and not e["steps"]:
        problems.append(("escalation.steps", "escalation is enabled but the chain is empty: add at least one "
                         "step, or set enabled = false"))
    if e["enabled"] and not cfg["modem"]["port"]:
        problems.append(("modem.port", "[escalation] is enabled but no modem is fitted: the chain texts and "
                         "calls through the 4G modem; set [modem] port or enabled = false"))
    return problems
