"""Sensor supervision: failures and recoveries in, `fault.sensor` / `fault.cleared` decisions out.

`Supervisor` is pure and time-injected; `FaultReporter` connects it to the hub. A component is
faulted once it has failed continuously (no good reading) for `fault_after_s`, and cleared once it
has been good continuously for `clear_after_s`, so a single glitch on the bus is neither reported
nor able to hide a real fault. Each fault carries a remedy a
technician can act on, in Mandarin and English.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.core.context import HubContext
    from sensors.errors import SensorError

log = logging.getLogger(__name__)

# (component, kind) -> (Mandarin, English) remedy; "*" matches any component.
# Fields: {name} / {name_en} (the component), {where} (part, address or pin).
REMEDIES: dict[tuple[str, str], tuple[str, str]] = {
    ("*", "no_response"): (
        "{name}无响应：检查 I2C 接线 (SDA=GPIO2, SCL=GPIO3)、3.3V 供电与地址 ({where})",
        "{name_en} not answering: check the I2C wiring (SDA=GPIO2, SCL=GPIO3), 3.3 V supply and address "
        "({where})"),
    ("*", "crc"): (
        "{name}数据校验错误：缩短 I2C 线 (<1 m)、检查上拉电阻 (总计约 1.8–4.7kΩ)、远离强电线 ({where})",
        "{name_en} CRC errors: shorten the I2C leads (<1 m), check the pull-ups (about 1.8-4.7 kΩ in "
        "total), route away from mains wiring ({where})"),
    ("*", "short_read"): (
        "{name}数据不完整：检查 I2C 接头是否松动及上拉电阻 ({where})",
        "{name_en} short reads: check for a loose I2C connector and the pull-ups ({where})"),
    ("*", "stuck"): (
        "{name}读数长时间不变：传感器可能损坏，请更换 ({where})",
        "{name_en} reading frozen for hours: the sensor is likely dead, replace it ({where})"),
    ("*", "impossible"): (
        "{name}读数超出可能范围：检查传感器是否损坏、受潮或接错 ({where})",
        "{name_en} reading is impossible: check the sensor for damage, moisture or wrong wiring ({where})"),
    ("*", "timeout"): (
        "{name}转换超时：断电重启终端，仍出现则更换 ({where})",
        "{name_en} conversion timed out: power-cycle the hub, replace the part if it persists ({where})"),
    ("*", "wrong_chip"): (
        "{name}型号不符：检查配置中的型号与地址 ({where})",
        "{name_en} is a different chip than configured: check the part and address in the config ({where})"),
    ("*", "error"): (
        "{name}读取异常：查看日志并检查接线 ({where})",
        "{name_en} read error: see the hub log and check the wiring ({where})"),
    ("smoke", "impossible"): (
        "烟雾传感器输出异常：检查 MQ-2 模块 5V 供电、AO 接线与分压电阻 ({where})",
        "Smoke sensor output out of range: check the MQ-2 module's 5 V supply, the AO wire and the divider "
        "({where})"),
    ("smoke", "trouble"): (
        "烟雾报警器报告故障：检查其电池或更换报警器 ({where})",
        "The smoke alarm reports a fault: check its battery or replace it ({where})"),
    ("pir", "stuck"): (
        "人体感应器输出长时间为高：检查 PIR 接线 ({where}) 及灵敏度旋钮，必要时更换",
        "PIR output stuck high: check its wiring ({where}) and sensitivity trimmer, replace it if needed"),
}

NAMES = {
    "temperature": ("温度传感器", "Temperature sensor"),
    "smoke": ("烟雾传感器", "Smoke sensor"),
    "pir": ("人体感应器", "Motion (PIR) sensor"),
    "power": ("电源监测", "Power monitor"),
}


def remedy(component: str, kind: str, where: str) -> str:
    """'Mandarin / English' for a technician."""
    zh, en = REMEDIES.get((component, kind)) or REMEDIES.get(("*", kind)) or REMEDIES[("*", "error")]
    name, name_en = NAMES.get(component, (component, component))
    return f"{zh} / {en}".format(name=name, name_en=name_en, where=where)


@dataclass(frozen=True)
class FaultChange:
    action: str  # "fault" | "cleared"
    component: str
    part: str
    kind: str
    detail: str
    since: float  # when the failure (or, for "cleared", the recovery) began

    def event_data(self, remedy_where: str) -> dict[str, Any]:
        data: dict[str, Any] = {"component": self.component, "part": self.part, "kind": self.kind}
        if self.action == "fault":
            data["detail"] = self.detail[:300]
            data["remedy"] = remedy(self.component, self.kind, remedy_where)
        return data


@dataclass
class _State:
    failing_since: float | None = None
    good_since: float | None = None
    faulted: bool = False
    part: str = ""
    kind: str = ""
    detail: str = ""
    failures: int = field(default=0)


class Supervisor:
    def __init__(self, fault_after_s: float, clear_after_s: float) -> None:
        self.fault_after_s, self.clear_after_s = fault_after_s, clear_after_s
        self._states: dict[str, _State] = {}

    def _state(self, component: str) -> _State:
        return self._states.setdefault(component, _State())

    def faulted(self, component: str) -> bool:
        return self._state(component).faulted

    def active(self) -> dict[str, str]:
        """component -> fault kind, for the status."""
        return {name: s.kind for name, s in self._states.items() if s.faulted}

    def due(self, component: str) -> float | None:
        """When a pending decision falls due if nothing changes (failing towards a fault, good towards a
        clear), so an edge-driven caller knows when to look again; None: nothing pending."""
        s = self._states.get(component)
        if s is None:
            return None
        if not s.faulted and s.failing_since is not None:
            return s.failing_since + self.fault_after_s
        if s.faulted and s.good_since is not None:
            return s.good_since + self.clear_after_s
        return None

    def failure(self, component: str, part: str, kind: str, detail: str, t: float) -> FaultChange | None:
        s = self._state(component)
        s.good_since = None
        s.failures += 1
        if s.failing_since is None:
            s.failing_since = t
        if s.faulted:
            return None
        s.part, s.kind, s.detail = part, kind, detail
        if t - s.failing_since >= self.fault_after_s:
            s.faulted = True
            return FaultChange("fault", component, part, kind, detail, s.failing_since)
        return None

    def success(self, component: str, t: float) -> FaultChange | None:
        s = self._state(component)
        s.failing_since = None
        if not s.faulted:
            return None
        if s.good_since is None:
            s.good_since = t
        if t - s.good_since >= self.clear_after_s:
            s.faulted = False
            s.good_since = None
            return FaultChange("cleared", component, s.part, s.kind, s.detail, t)
        return None


class FaultReporter:
    """Feeds a Supervisor from the sensor loops and raises its decisions as events through the hub."""

    def __init__(self, ctx: HubContext, supervisor: Supervisor, on_change: Callable[[], None]) -> None:
        self.ctx, self.supervisor, self._on_change = ctx, supervisor, on_change
        self._fault_ids: dict[str, str] = {}

    async def failure(self, component: str, error: SensorError, where: str) -> None:
        log.debug("%s read failed: %s", component, error)
        t = self.ctx.clock.monotonic()
        change = self.supervisor.failure(component, error.part, error.kind, error.detail, t)
        if change is not None:
            log.warning("sensor fault %s: %s", component, error)
            event = await self.ctx.raise_event("fault.sensor", change.event_data(where))
            self._fault_ids[component] = event.id
            self._on_change()

    async def success(self, component: str) -> None:
        change = self.supervisor.success(component, self.ctx.clock.monotonic())
        if change is not None:
            data = change.event_data("")
            data["fault_id"] = self._fault_ids.pop(component, "")
            await self.ctx.raise_event("fault.cleared", data)
            self._on_change()
