"""A call button held down for minutes is stuck, and a stuck button is a dead one: no new call can come from
it. The platform hears `fault.sensor` (button / stuck) with a remedy, the status lists it, and its release
clears it; the press that began it was a call like any other, and the other buttons still call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from scenario import Scenario, scenario

from hub.calls.stuck import StuckButtons
from hub.core.clock import ManualClock
from hub.core.events import Event


def faults(s: Scenario, event_type: str) -> list[Event]:
    return [e for _, e in s.events if e.type == event_type and e.data.get("component") == "button"]


@pytest.mark.slow
def test_a_button_stuck_from_power_on_calls_once_then_is_reported_until_let_go(tmp_path: Any, broker: Any) -> None:
    async def body(s: Scenario) -> None:
        call = await s.event("call.raised", button=17)  # the press at power-on is a call, as any press
        await asyncio.sleep(119)
        assert faults(s, "fault.sensor") == []  # a long hold is not yet a stuck button
        stuck = await s.event("fault.sensor", timeout=5, component="button")
        assert stuck.data["kind"] == "stuck" and stuck.data["part"] == "call button GPIO17 (emergency)"
        assert "GPIO17" in stuck.data["remedy"] and "挂绳" in stuck.data["remedy"]
        status = await s.hub.status()
        assert [b["button"] for b in status["stuck_buttons"]] == [17]
        await s.ack(call.id)  # the operator answers the call; the button is still down
        assert (await s.press(27))["outcome"] == "raised"  # the other buttons still call
        await s.release(17)
        cleared = await s.event("fault.cleared", component="button")
        assert cleared.data["fault_id"] == stuck.id and cleared.data["kind"] == "stuck"
        assert (await s.hub.status())["stuck_buttons"] == []
        again = await s.press(17)  # let go, it calls again
        assert again["outcome"] == "raised", again
        assert len(faults(s, "fault.sensor")) == 1
        assert not [k for k, _t in s.transcript() if "stuck" in k or "fault" in k]  # nothing said to her

    with scenario(tmp_path, broker) as s:
        s.held_at_power_on.add(17)
        s.run(body)


@pytest.mark.slow
def test_a_frightened_resident_holding_the_button_a_minute_is_not_a_fault(tmp_path: Any, broker: Any) -> None:
    async def body(s: Scenario) -> None:
        s.hub.hardware.world.gpio.drive(17, 0)  # she presses and keeps pressing
        await s.event("call.raised", button=17)
        await asyncio.sleep(60)
        await s.release(17)
        await asyncio.sleep(120)
        assert faults(s, "fault.sensor") == [] and faults(s, "fault.cleared") == []
        assert (await s.hub.status())["stuck_buttons"] == []

    with scenario(tmp_path, broker) as s:
        s.run(body)


@pytest.mark.slow
def test_the_technician_tries_it_with_hub_sim_button(tmp_path: Any, broker: Any) -> None:
    async def body(s: Scenario) -> None:
        stuck = await s.sim("button", "stuck", "--button", "27")
        assert stuck["outcome"] == "raised" and stuck["held_down"] is True and stuck["stuck_after_s"] == 30
        assert (await s.sim("button", "stuck", "--button", "27"))["was"] == "down"  # twice: nothing more
        fault = await s.event("fault.sensor", timeout=40, component="button")
        assert fault.data["part"] == "call button GPIO27 (health)"
        assert (await s.sim("button", "free", "--button", "27"))["released"] is True
        await s.event("fault.cleared", component="button")
        assert (await s.sim("button", "free", "--button", "27"))["was"] == "up"

    with scenario(tmp_path, broker, calls={"stuck_after_s": 30}) as s:
        s.run(body)


class _Ctx:
    """What StuckButtons uses of the hub: its clock, named tasks and durable events, slow to commit."""

    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
        self.events: list[Event] = []
        self.commit = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, name: str, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    async def raise_event(self, event_type: str, data: dict[str, Any], ts: datetime | None = None) -> Event:
        await self.commit.wait()
        event = Event(event_type, data, self.clock.now())
        self.events.append(event)
        return event


def test_let_go_while_its_fault_is_being_committed_it_is_cleared_after_it() -> None:
    async def body() -> None:
        ctx = _Ctx()
        buttons = StuckButtons({17: "emergency"}, after_s=0.01)
        buttons.start(ctx, lambda: None)  # type: ignore[arg-type]
        buttons.pressed(17)
        await asyncio.sleep(0.05)  # stuck: its fault.sensor is on its way to the card
        buttons.released(17)
        ctx.commit.set()
        await asyncio.gather(*ctx.tasks)
        assert [(e.type, e.data.get("fault_id")) for e in ctx.events] == [
            ("fault.sensor", None), ("fault.cleared", ctx.events[0].id)]
        assert buttons.status() == []
        buttons.close()

    asyncio.run(body())
