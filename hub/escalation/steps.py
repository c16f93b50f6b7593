"""The chain's logic, without I/O: where a chain is (`Progress`, saved to disk after every change) and what
it does next (`next_action`). Times are wall-clock seconds so a chain resumes where it was after a
restart; an action is marked done *before* it is tried, so a restart never texts or calls twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_WAIT_S, DEFAULT_RING_S = 120.0, 30.0
# Alarms the chain leaves to the platform: a shopping call (生活服务) and a low UPS battery are not a
# reason to wake a daughter at night.
NOT_ESCALATED = ("call.raised:service", "power.battery_low")
# Cellular.dial() reasons (hub/cellular/voice.py) that say no call could be placed, or the modem failed
UNAVAILABLE, FAILED = ("no_modem", "not_registered"), ("modem_fault",)


@dataclass(frozen=True)
class Step:
    role: str
    name: str
    sms: tuple[str, ...] = ()
    call: tuple[str, ...] = ()
    wait_s: float = DEFAULT_WAIT_S
    ring_s: float = DEFAULT_RING_S
    comes: bool = False  # their acknowledgement means they come: the resident may hear "正在赶来帮您"

    @staticmethod
    def from_config(raw: dict[str, Any]) -> Step:
        return Step(raw["role"], raw["name"], tuple(raw.get("sms", ())), tuple(raw.get("call", ())),
                    float(raw.get("wait_s", DEFAULT_WAIT_S)), float(raw.get("ring_s", DEFAULT_RING_S)),
                    bool(raw.get("comes", False)))


@dataclass
class Progress:
    """One alarm's chain. `done` lists the current step's actions already started: "sms", "call:0"..."""

    alarm_id: str
    alarm_type: str
    opened: float  # wall clock: when the alarm was raised
    text: str  # the SMS (short form of the alarm's context card), fixed when the chain starts
    step: int = 0
    step_since: float | None = None  # wall clock: when the current step's first action started
    done: list[str] = field(default_factory=list)
    reached: list[int] = field(default_factory=list)  # steps whose people were texted or called
    ended: str | None = None  # how the chain ended (kept while its alarm is open: it never runs twice)
    reported: list[str] = field(default_factory=list)  # the current step's actions whose outcome was reported

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> Progress:
        return Progress(str(raw["alarm_id"]), str(raw["alarm_type"]), float(raw["opened"]), str(raw["text"]),
                        int(raw.get("step", 0)), raw.get("step_since"), list(raw.get("done", [])),
                        list(raw.get("reached", [])), raw.get("ended"), list(raw.get("reported", [])))


@dataclass(frozen=True)
class Wait:
    until: float  # wall clock


@dataclass(frozen=True)
class Text:
    step: Step


@dataclass(frozen=True)
class Dial:
    step: Step
    index: int
    number: str


@dataclass(frozen=True)
class Advance:
    pass


@dataclass(frozen=True)
class Exhausted:
    pass


Action = Wait | Text | Dial | Advance | Exhausted


def escalated(alarm_type: str, kind: str | None) -> bool:
    """Whether the chain is worked for this alarm (a call by its kind)."""
    return alarm_type not in NOT_ESCALATED and f"{alarm_type}:{kind}" not in NOT_ESCALATED


def next_action(progress: Progress, steps: list[Step], after_s: float, now: float) -> Action:
    """What the chain does now. The caller marks a Text/Dial done (and saves) before trying it."""
    if now < progress.opened + after_s:
        return Wait(progress.opened + after_s)
    if progress.step >= len(steps):
        return Exhausted()
    step = steps[progress.step]
    if step.sms and "sms" not in progress.done:
        return Text(step)
    for index, number in enumerate(step.call):
        if f"call:{index}" not in progress.done:
            return Dial(step, index, number)
    since = progress.step_since if progress.step_since is not None else now
    if now < since + step.wait_s:
        return Wait(since + step.wait_s)
    return Advance()


def mark(progress: Progress, action: Text | Dial, now: float) -> None:
    """Record that `action` is being tried (before it is: at most once, across a restart)."""
    progress.done.append("sms" if isinstance(action, Text) else f"call:{action.index}")
    if progress.step_since is None:
        progress.step_since = now
    if progress.step not in progress.reached:
        progress.reached.append(progress.step)


def advance(progress: Progress) -> None:
    progress.step += 1
    progress.step_since = None
    progress.done = []
    progress.reported = []


def interrupted(progress: Progress, steps: list[Step]) -> list[tuple[str, str, list[str]]]:
    """Actions started but never reported (the hub stopped mid-text or mid-call): (key, channel, numbers)."""
    if progress.step >= len(steps):
        return []
    step = steps[progress.step]
    out = []
    for key in progress.done:
        if key in progress.reported:
            continue
        if key == "sms":
            out.append((key, "sms", list(step.sms)))
        elif key.startswith("call:") and int(key[5:]) < len(step.call):
            out.append((key, "voice", [step.call[int(key[5:])]]))
    return out


def reached_by(progress: Progress, steps: list[Step], sender: str, same: Any, now: float | None = None) -> Step | None:
    """The step (already texted or called) whose number `sender` is, if any: who acknowledges by SMS. With
    `now`, only the step the chain waits on, within its `wait_s` (a "1" without a code: its window)."""
    if now is not None:
        step = steps[progress.step] if progress.step < len(steps) and progress.step in progress.reached else None
        within = step is not None and progress.step_since is not None and now < progress.step_since + step.wait_s
        return step if within and step is not None and any(same(sender, n) for n in (*step.sms, *step.call)) else None
    for index in progress.reached:
        step = steps[index] if index < len(steps) else None
        if step is not None and any(same(sender, n) for n in (*step.sms, *step.call)):
            return step
    return None


def voice_outcome(result: dict[str, Any]) -> str:
    """An `escalation.step` outcome from what Cellular.dial() returned."""
    reason = str(result.get("reason") or "")
    if result.get("acknowledged"):
        return "acknowledged"
    if result.get("answered"):
        return "answered"
    return "unavailable" if reason in UNAVAILABLE else "failed" if reason in FAILED else "no_answer"
