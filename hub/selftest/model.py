"""The self-test's shared vocabulary: the result row every check returns (component, result, measured
value, remedy in plain words), the environment a check sees (`Env`: the config and the
`hub.core.context.Hardware` seams, the same ones the hub uses), and the names of the components a
technician can check. Kept apart so the per-area check modules, the guided steps and the runner in
`hub/selftest/run.py` share one definition without importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from hub.config.loader import Config
from hub.core.context import Hardware
from sensors.system import HealthSampler

PASS, FAIL, SKIP = "pass", "fail", "skip"
AUTOMATIC = (
    "temperature",
    "smoke",
    "pir",
    "buttons",
    "power",
    "contacts",
    "modem",
    "broker",
    "sip",
    "clock",
    "disk",
    "audio",
    "ble",
    "device",
    "triggers",
)
GUIDED = ("buttons", "pir", "contacts", "smoke", "voice")
COMPONENTS = tuple(dict.fromkeys(AUTOMATIC + GUIDED))


@dataclass
class Result:
    component: str
    check: str
    result: str
    value: str = ""
    remedy: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Env:
    config: Config
    hardware: Hardware
    sampler: HealthSampler | None = None
    # The running hub's status (when the self-test runs inside it): parts the hub holds open, such as the
    # modem's AT port, are judged from what the hub reads rather than opened a second time.
    status: Callable[[], Awaitable[dict[str, Any]]] | None = None

    @property
    def cfg(self) -> dict[str, Any]:
        return self.config.data

    @property
    def simulated(self) -> bool:
        return self.hardware.simulated


Check = Callable[[Env, bool], Awaitable[list[Result]]]
