"""Supervision over days, fast: the real `triggers` component and its Supervisor, the real virtual BLE radio
and bleak scanner, a ManualClock moved by the test, and a small stand-in for the coordinator that commits
events to a list (the end-to-end path with the outbox and broker is tests/test_triggers_hub.py).

A low battery is reported and spoken again every battery_repeat_days until the battery is changed; a
wearable nobody tested for untested_days is reported; a fault found at night is spoken only in the day
window; a device reported through `heard()` with hostile values is still supervised, its values checked.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.ble.virtual.radio import VirtualRadio
from hub.config.loader import Config, validate
from hub.core.clock import ManualClock
from hub.core.context import Hardware
from hub.core.events import Event
from hub.triggers.component import Triggers

KEY = "231d39c1d7cc1ab1aee224cd096db932"
DAY = 86400.0
START = datetime(2025, 3, 4, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai


class Coordinator:
    """What the component sees of the hub: committed events, spoken prompts, spawned tasks."""

    def __init__(self, config: Config, radio: VirtualRadio) -> None:
        self.config, self.clock = config, ManualClock(START)
        self.hardware = Hardware(gpio=None, open_i2c=lambda b: None, open_serial=lambda *a, **k: None,
                                 ble_scanner_backend=radio.scanner_backend, simulated=True)
        self.events: list[Event] = []
        self.said: list[tuple[str, dict[str, Any]]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.status: dict[str, Any] = {}
        self._seq = itertools.count(1)

    async def raise_event(self, event_type: str, data: dict[str, Any], ts: datetime | None = None) -> Event:
        event = Event(event_type, data, ts or self.clock.now(), str(next(self._seq)))
        self.events.append(event)
        return event

    def say(self, prompt: str, **fields: Any) -> None:
        self.said.append((prompt, fields))

    async def speak(self, prompt: str, **fields: Any) -> None:
        self.said.append((prompt, fields))

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if name in ("triggers.supervise", "triggers.weekly_test"):
            # the minute loop: the test calls check() itself, with its clock; the weekly test waits minutes
            # for a press and is tests/test_triggers_hub.py's (here: nobody ever answers it)
            coro.close()
            return asyncio.get_running_loop().create_task(asyncio.sleep(0))
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def set_status(self, key: str, value: Any) -> None:
        self.status[key] = value

    def add_control_command(self, name: str, handler: Any, **kw: Any) -> None:
        pass

    def component(self, name: str) -> Any:
        return None

    async def settle(self) -> None:
        while any(not t.done() for t in self.tasks):
            await asyncio.gather(*self.tasks)

    def faults(self, reason: str) -> list[Event]:
        return [e for e in self.events if e.type == "fault.trigger" and e.data["reason"] == reason]


def build(tmp: Path, **supervision: Any) -> tuple[Triggers, Coordinator]:
    raw = {"hub": {"id": "t", "state_dir": str(tmp), "timezone": "Asia/Shanghai"}, "supervision": supervision,
           "triggers": [{"id": "pendant", "address": "A4:C1:38:00:00:01", "key": KEY, "room": "卧室"},
                        {"id": "cord", "address": "A4:C1:38:00:00:02", "key": KEY, "room": "卫生间",
                         "kind": "pull_cord"}]}
    config = Config(tmp / "hub.toml", validate(raw))
    radio = VirtualRadio()
    return Triggers(config), Coordinator(config, radio)


async def days(trig: Triggers, hub: Coordinator, n: float, *, heard: dict[str, Any] | None = None) -> None:
    """n days pass, the minute check every hour (enough for day-long rules), `heard` reports every hour."""
    for _ in range(int(n * 24)):
        hub.clock.advance(3600)
        if heard is not None:
            trig.heard(**heard)
        await trig.supervisor.check()
        await hub.settle()


def test_low_battery_repeats_every_period_until_changed(tmp_path: Path) -> None:
    async def main() -> None:
        trig, hub = build(tmp_path, battery_repeat_days=7)
        await trig.start(hub)  # type: ignore[arg-type]
        low = {"device_id": "cord", "room": "卫生间", "kind": "pull_cord", "battery_pct": 12, "signal": -71}
        trig.heard(**low)
        await hub.settle()
        assert len(hub.faults("battery_low")) == 1
        await days(trig, hub, 15, heard=low)
        reports = hub.faults("battery_low")
        gaps = [(b.ts - a.ts).total_seconds() / DAY for a, b in itertools.pairwise(reports)]
        assert len(reports) == 3 and all(abs(g - 7) < 0.05 for g in gaps), gaps
        spoken = [f for p, f in hub.said if p == "trigger_battery_low"]
        assert len(spoken) == 3 and spoken[0]["room"] == "卫生间"
        trig.heard(**{**low, "battery_pct": 100})  # changed
        await hub.settle()
        cleared = [e for e in hub.events if e.type == "fault.trigger_cleared"]
        assert [(c.data["reason"], c.data["fault_id"]) for c in cleared] == [("battery_low", reports[-1].id)]
        await days(trig, hub, 8, heard={**low, "battery_pct": 100})
        assert len(hub.faults("battery_low")) == 3  # no more repeats
        await trig.close()

    asyncio.run(main())


def test_untested_wearable_reported_and_night_faults_wait_for_the_day(tmp_path: Path) -> None:
    async def main() -> None:
        trig, hub = build(tmp_path, untested_days=14, test_day="sun", test_time="10:00")
        await trig.start(hub)  # type: ignore[arg-type]
        hub.clock.advance(13.5 * 3600)  # 22:30 in Shanghai: night
        trig.heard("pendant", room="卧室", kind="pendant", battery_low=True)
        await hub.settle()
        await trig.supervisor.check()
        assert len(hub.faults("battery_low")) == 1  # reported at once...
        assert not [p for p, _ in hub.said if p == "trigger_battery_low"]  # ...not spoken at night
        hub.clock.advance(10 * 3600)  # 08:30 the next day
        await trig.supervisor.check()
        assert [p for p, _ in hub.said if p == "trigger_battery_low"] == ["trigger_battery_low"]
        # nobody does the weekly test: no test for 14 days -> untested
        heard_all = {"device_id": "pendant", "room": "卧室", "kind": "pendant"}
        await days(trig, hub, 15, heard=heard_all)
        untested = hub.faults("untested")
        assert [e.data["trigger"] for e in untested] == ["pendant"]  # the pull cord is not a wearable
        assert "hub selftest" in untested[0].data["remedy"]
        # never pressed since it was bound: said so, and its status shows no test time (it showed the bind time,
        # which the technician read as a test done that day)
        assert untested[0].data["detail"].endswith("(never since it was bound)"), untested[0].data
        assert trig.state.devices["pendant"].last_test is None
        await trig.close()

    asyncio.run(main())


def test_heard_checks_what_another_integration_reports(tmp_path: Path) -> None:
    """The zigbee side's values are input from outside: wrong types, out of range, oversize ids."""
    async def main() -> None:
        trig, hub = build(tmp_path)
        await trig.start(hub)  # type: ignore[arg-type]
        trig.heard("x" * 500, room="客厅" * 40, kind="sos", battery_pct=250, signal="strong")  # type: ignore[arg-type]
        trig.heard("zb-1", room="客厅", kind="sos", battery_pct=True, battery_low="yes")  # type: ignore[arg-type]
        await hub.settle()
        rows = {r["id"]: r for r in trig.rows()}
        long_id = next(k for k in rows if k.startswith("x"))
        assert len(long_id) == 64 and len(rows[long_id]["room"]) == 24
        assert rows[long_id]["battery_pct"] is None and rows[long_id]["signal"] is None
        assert rows["zb-1"]["battery_pct"] is None and not rows["zb-1"]["battery_low"]
        assert not hub.faults("battery_low")
        hub.clock.advance(24 * 3600 + 60)
        await trig.supervisor.check()
        await hub.settle()
        assert {e.data["trigger"] for e in hub.faults("not_heard")} >= {"zb-1", long_id}
        await trig.close()

    asyncio.run(main())


def test_times_shown_are_in_the_hubs_zone_not_the_systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Pi's system zone is often UTC while [hub] timezone is Asia/Shanghai: `hub status`, the self-test
    and fault.trigger said 'heard 05:17' for a button pressed at 13:17, beside every other time in +08:00."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        async def main() -> None:
            trig, hub = build(tmp_path)
            await trig.start(hub)  # type: ignore[arg-type]
            trig.heard("zb-1", room="客厅", kind="sos", battery_pct=80)
            await hub.settle()
            assert {r["id"]: r for r in trig.rows()}["zb-1"]["last_heard"] == "2025-03-04T09:00:00+08:00"
            hub.clock.advance(24 * 3600 + 60)
            await trig.supervisor.check()
            await hub.settle()
            fault = next(e for e in hub.faults("not_heard") if e.data["trigger"] == "zb-1")
            assert fault.data["last_heard"] == "2025-03-04T09:00:00+08:00"
            await trig.close()

        asyncio.run(main())
    finally:
        monkeypatch.undo()
        time.tzset()
