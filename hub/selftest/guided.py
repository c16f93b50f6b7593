"""Guided self-test checks: a person acts (presses a call button, waves at the motion sensor, presses
the smoke alarm's test button, listens for the test prompt) and the hub watches the line or takes the
answer. The steps follow the fitted hardware in the config; `hub selftest` and the provisioning
wizard drive them, locally or through the running hub's control socket (`selftest.*` commands).

A test press of a call button sends no call (the running hub claims it while the step waits). The smoke
alarm's test key does raise a real `alarm.fire` in a running hub, on purpose: the prompt says so first,
so the technician warns the platform's operator before pressing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.selftest.gpio import wait_level
from hub.selftest.model import FAIL, PASS, SKIP, Env, Result


@dataclass(frozen=True)
class GuidedStep:
    component: str
    check: str
    prompt: str  # what the person is asked to do, Mandarin first
    pin: int | None  # watched line; None for the spoken prompt (the person answers)
    level: bool = False
    pull_up: bool = True


SMOKE_LIVE = (
    "注意：平台会收到一条测试火警 (alarm.fire)，请先告知平台值班员；然后请按烟雾报警器测试键 / "
    "the platform WILL receive a test fire alarm (alarm.fire): tell the platform operator first, then "
    "press the smoke alarm's test button"
)
SMOKE_STOPPED = (
    "请按烟雾报警器测试键（集线器已停止，不会发给平台）/ press the smoke alarm's test button (the hub "
    "is stopped: nothing goes to the platform)"
)


def guided_steps(env: Env, only: str | None = None, hub_running: bool = True) -> list[GuidedStep]:
    """The steps for the fitted hardware. `hub_running`: asked inside the running hub, whose smoke
    watch turns the test key into a real alarm.fire (the prompt warns of it)."""
    cfg = env.cfg
    steps = [
        GuidedStep(
            f"button:{b['pin']}",
            f"{b['kind']} button press",
            f"请按呼叫按钮 (GPIO{b['pin']}, {b['kind']})，这一下不会发出呼叫；别的按钮会真的呼叫社区 / press "
            f"this call button (GPIO{b['pin']}): its test press sends no call; any other button makes a real call",
            b["pin"],
            False,
            True,
        )
        for b in cfg["buttons"]
    ]
    if cfg["motion"]["fitted"]:
        steps.append(
            GuidedStep(
                "pir",
                "motion seen",
                "请在传感器前挥手 / wave in front of the motion sensor",
                cfg["motion"]["pin"],
                True,
                False,
            )
        )
    steps += contact_steps(cfg)
    smoke = cfg["smoke"]
    if smoke["kind"] == "relay":
        steps.append(
            GuidedStep(
                "smoke",
                "test button",
                SMOKE_LIVE if hub_running else SMOKE_STOPPED,
                smoke["relay_pin"],
                not smoke["relay_active_low"],
                smoke["relay_active_low"],
            )
        )
    if cfg["voice"]["enabled"]:
        steps.append(
            GuidedStep("voice", "prompt heard", "你听到提示音了吗？/ did you hear the test prompt?", None)
        )
    if only is not None:
        steps = [s for s in steps if s.component == only or s.component.split(":")[0] == only.rstrip("s")
                 or (only == "contacts" and s.component.split(":")[0] in ("door", "mat"))]
    return steps


def contact_steps(cfg: dict[str, Any]) -> list[GuidedStep]:
    """Open each door (the line goes high for a reed switch closed while shut), sit or lie on each mat."""
    steps = [GuidedStep(f"door:{d['name']}", "opens", f"请打开门 '{d['name']}' (GPIO{d['pin']}) / open the "
                        f"{d['kind']} '{d['name']}'", d["pin"], d["closed_when_shut"], True)
             for d in cfg["doors"]]
    steps += [GuidedStep(f"mat:{m['name']}", "occupied", f"请坐上或躺上 '{m['name']}' (GPIO{m['pin']}) / sit or "
                         f"lie on the {m['place']} mat '{m['name']}'", m["pin"], not m["closed_when_occupied"], True)
              for m in cfg["mats"]]
    return steps


async def watch_step(env: Env, step: GuidedStep, timeout: float, owned: bool) -> Result:
    assert step.pin is not None
    seconds = await wait_level(env, step.pin, step.level, timeout, step.pull_up, owned)
    if seconds is None:
        return Result(
            step.component,
            step.check,
            FAIL,
            f"GPIO{step.pin}: nothing in {timeout:.0f} s",
            "没有检测到动作：检查接线和部件 / nothing seen: check the wiring and the part",
        )
    return Result(step.component, step.check, PASS, f"GPIO{step.pin}: seen after {seconds:.1f} s")


def heard_result(answer: bool) -> Result:
    return Result(
        "voice",
        "prompt heard",
        PASS if answer else FAIL,
        "heard" if answer else "not heard",
        "" if answer else "检查喇叭连接和音量 (alsamixer) / check the speaker and the volume",
    )


def skipped_guided(steps: list[GuidedStep], why: str) -> list[Result]:
    return [Result(s.component, s.check, SKIP, why) for s in steps]
