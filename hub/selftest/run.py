"""Hardware self-test for technicians: automatic checks of every fitted part, and guided checks a person
confirms. Results are rows (component, result, measured value, remedy in plain words).

The checks see the hardware only through `hub.core.context.Hardware` (the same seams the hub uses), so they
run inside the running hub (which owns the GPIO lines; `hub/selftest/component.py`), in a stopped
hub's place (`hub selftest` opens the hardware itself), and against the simulation. Pins are read, never
claimed: the running hub's devices keep them. Host-only checks (clock, sound card, BLE adapter, modem
with no simulated peer) are skipped in simulation, saying so, rather than reporting the host.

This module is the runner and the report: the checks live by area in `hub/selftest/i2c.py` (I2C
sensors), `hub/selftest/gpio.py` (GPIO inputs), `hub/selftest/links.py` (modem, broker, SIP, BLE) and
`hub/selftest/system.py` (clock, disk, audio, the Pi itself); the guided steps in
`hub/selftest/guided.py`; the result row and `Env` in `hub/selftest/model.py`.
"""

from __future__ import annotations

from typing import Any

from hub.selftest.gpio import check_buttons, check_contacts, check_pir, check_power
from hub.selftest.i2c import check_smoke, check_temperature
from hub.selftest.links import check_ble, check_broker, check_modem, check_sip
from hub.selftest.model import COMPONENTS, FAIL, PASS, SKIP, Check, Result
from hub.selftest.model import Env as Env  # re-exported: hw-tests/conftest.py imports it from here
from hub.selftest.system import check_clock, check_device, check_disk
from hub.selftest.triggers import check_triggers
from hub.selftest.voice import check_audio_and_voice

CHECKS: dict[str, Check] = {
    "temperature": check_temperature,
    "smoke": check_smoke,
    "pir": check_pir,
    "buttons": check_buttons,
    "power": check_power,
    "contacts": check_contacts,
    "modem": check_modem,
    "broker": check_broker,
    "sip": check_sip,
    "clock": check_clock,
    "disk": check_disk,
    "audio": check_audio_and_voice,
    "ble": check_ble,
    "device": check_device,
    "triggers": check_triggers,
}


async def run_automatic(env: Env, only: str | None = None, owned: bool = False) -> list[Result]:
    """Every automatic check (or the one component), each isolated: one failing check never hides others."""
    if only is not None and only not in COMPONENTS:
        raise ValueError(f"unknown component {only!r}; known: {', '.join(COMPONENTS)}")
    results: list[Result] = []
    for name, check in CHECKS.items():
        if only is not None and name != only:
            continue
        try:
            results.extend(await check(env, owned))
        except Exception as exc:  # a broken check is a failed check, never a crashed self-test
            results.append(
                Result(
                    name,
                    "check ran",
                    FAIL,
                    f"{type(exc).__name__}: {exc}"[:80],
                    "自检程序出错：请把此行发给技术支持 / self-test error: report this line",
                )
            )
    return results


def summary(results: list[Result]) -> dict[str, Any]:
    failed = [r for r in results if r.result == FAIL]
    return {
        "ok": not failed,
        "passed": sum(r.result == PASS for r in results),
        "failed": len(failed),
        "skipped": sum(r.result == SKIP for r in results),
        "failed_components": sorted({r.component for r in failed}),
        "results": [r.as_dict() for r in results],
    }
