"""Self-test of the parts on plain GPIO lines (motion sensor, call buttons, UPS mains/battery signals),
and the pin readers the other checks and the guided steps use. Inside the running hub its parts hold
the lines, so a check only samples their level; a line nothing holds is claimed as an input with its pull.
"""

from __future__ import annotations

import asyncio
import time

from hub.selftest.model import FAIL, PASS, Env, Result


def read_pin(env: Env, number: int, pull_up: bool, owned_by_hub: bool) -> bool:
    """The line's level. Inside the running hub the line is already claimed by its part: only read
    (hub.core.lines reads a line it holds as it is; one it does not is claimed with the pull)."""
    return env.hardware.gpio.read(number, pull_up)


def fault_contact(
    env: Env, owned: bool, component: str, check: str, pin: int, values: tuple[str, str], remedy: str
) -> Result:
    """An open-collector fault output (low battery, smoke-alarm trouble), pulled up: closed (low) is
    the fault. `values` is the (fault, ok) text shown; the remedy is shown only with the fault."""
    fault = not read_pin(env, pin, True, owned)
    return Result(component, check, FAIL if fault else PASS, values[0] if fault else values[1],
                  remedy if fault else "")


async def level_for(env: Env, number: int, level: bool, seconds: float, pull_up: bool, owned: bool) -> bool:
    """True if the line stays at `level` for the whole time (sampled every 50 ms)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if read_pin(env, number, pull_up, owned) != level:
            return False
        await asyncio.sleep(0.05)
    return True


async def wait_level(
    env: Env, number: int, level: bool, timeout: float, pull_up: bool, owned: bool
) -> float | None:
    """Seconds until the line reaches `level`, or None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if read_pin(env, number, pull_up, owned) == level:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    return None


async def check_pir(env: Env, owned: bool) -> list[Result]:
    m = env.cfg["motion"]
    if not m["fitted"]:
        return []
    where = f"GPIO{m['pin']}"
    if read_pin(env, m["pin"], False, owned) and await level_for(env, m["pin"], True, 8.0, False, owned):
        return [
            Result(
                "pir",
                "output idles low",
                FAIL,
                f"{where}: high for 8 s",
                "人体传感器一直触发：请离开传感器视野后重测；仍触发则检查接线或更换 / the motion sensor "
                "stays triggered: step out of its view and re-run; else check wiring or replace",
            )
        ]
    return [
        Result(
            "pir",
            "input readable",
            PASS,
            f"{where}: {'motion' if read_pin(env, m['pin'], False, owned) else 'idle'}",
        )
    ]


async def check_buttons(env: Env, owned: bool) -> list[Result]:
    results = []
    for button in env.cfg["buttons"]:
        pin = button["pin"]
        stuck = not read_pin(env, pin, True, owned) and await level_for(env, pin, False, 2.0, True, owned)
        results.append(
            Result(
                f"button:{pin}",
                f"{button['kind']} button input",
                FAIL if stuck else PASS,
                f"GPIO{pin}: {'pressed for 2 s' if stuck else 'released'}",
                "按钮一直按下或短路：检查按钮和接线 / button held or shorted: check the button and its wires"
                if stuck
                else "",
            )
        )
    return results


async def check_power(env: Env, owned: bool) -> list[Result]:
    p = env.cfg["power"]
    if not p["fitted"]:
        return []
    good = read_pin(env, p["good_pin"], False, owned)
    results = [
        Result(
            "power",
            "mains present",
            PASS if good else FAIL,
            f"GPIO{p['good_pin']}: {'mains ok' if good else 'no mains'}",
            ""
            if good
            else "市电断开：检查电源适配器和 UPS 接线 / no mains: check the adapter and the UPS HAT wiring",
        )
    ]
    if p["low_battery_pin"] is not None:
        results.append(fault_contact(env, owned, "power", "backup battery", p["low_battery_pin"], ("low", "ok"),
                                     "备用电池电量低：充电或更换 / backup battery low: charge or replace"))
    return results


async def check_contacts(env: Env, owned: bool) -> list[Result]:
    """Door contacts and bed/chair mats ([[doors]], [[mats]]): each line readable, and its state shown so
    the technician can compare it with the door or the bed in front of them (the guided steps ask for a
    change). Config only: a reed switch closed while the door is shut reads low with the pull-up."""
    results = []
    for d in env.cfg["doors"]:
        closed = not read_pin(env, d["pin"], True, owned)
        shut = closed == d["closed_when_shut"]
        results.append(Result(
            f"door:{d['name']}", f"{d['kind']} contact{' (exit)' if d['exit'] else ''}", PASS,
            f"GPIO{d['pin']}: {'shut' if shut else 'open'}",
            "" if shut else "门磁显示开门：若门已关好，检查磁铁位置 (间距 <10 mm) 和接线 / reads open: if the "
                            "door is shut, check the magnet gap (<10 mm) and the wiring"))
    for m in env.cfg["mats"]:
        closed = not read_pin(env, m["pin"], True, owned)
        occupied = closed == m["closed_when_occupied"]
        results.append(Result(
            f"mat:{m['name']}", f"{m['place']} mat", PASS, f"GPIO{m['pin']}: {'occupied' if occupied else 'free'}",
            "压力垫显示有人：若床/椅上无人，检查垫上物品和线缆 / reads occupied: if nobody is on it, check for "
            "objects on the mat and a crushed cable" if occupied else ""))
    return results
