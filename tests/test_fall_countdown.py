"""The countdown: button cancels (fall.cancelled, no alarm), silence alarms; both spoken, louder each time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from fakes import FakeHub

from hub.config.loader import Config, validate
from hub.core.clock import Clock
from hub.core.context import Hardware
from hub.core.events import Event
from hub.detect.fall.component import FallComponent, build
from hub.detect.fall.sim import synth_fall_trace
from sensors.radar import RadarObservation

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def check_schema(event: Event) -> None:
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(event.payload("demo-0001", 1)), schema,
                        format_checker=jsonschema.FormatChecker())


class FakeCtx(FakeHub):
    """The shared stand-in on the real clock; `said` keeps each prompt with its fields (the volume)."""

    def __init__(self, config: Config) -> None:
        super().__init__(config, Clock(), simulated=False)

    @property
    def said(self) -> list[tuple[str, dict[str, Any]]]:
        return self.prompts


def config(**fall: Any) -> Config:
    base = {"countdown_s": 1.2, "prompt_every_s": 0.4, "volume_start": 60, "volume_end": 180,
            "wearable_address": "C8:00:00:00:00:01"}
    data = validate({"fall": {"wearable_address": "C8:00:00:00:00:01"}})
    data["fall"].update(base, **fall)  # sub-second timings keep the test fast; the schema asks >= 1 s
    return Config(path=None, data=data)  # type: ignore[arg-type]


async def started(**fall: Any) -> tuple[FallComponent, FakeCtx]:
    cfg = config(**fall)
    comp = FallComponent(cfg)
    ctx = FakeCtx(cfg)
    comp._ctx = ctx  # type: ignore[assignment]  # start() would also connect the wearable; the countdown needs only the context
    return comp, ctx


def test_silence_raises_alarm_after_rising_prompts() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        outcome = comp.wait_outcome()
        comp.on_samples(synth_fall_trace(50), new_stream=True)  # the worn-sensor path
        assert comp.counting_down
        assert (await asyncio.wait_for(outcome, 5))["outcome"] == "alarm"
        assert [e.type for e in ctx.events] == ["alarm.fall"]
        data = ctx.events[0].data
        assert data["source"] == "wearable" and data["outcome"] == "no_response" and data["prompts"] == 3
        assert data["waited_s"] == pytest.approx(1.2, abs=0.3)
        checks = [f["volume"] for p, f in ctx.said if p == "fall_check"]
        assert checks == [60, 120, 180]
        assert ctx.said[-1][0] == "fall_alarm"
        check_schema(ctx.events[0])
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_any_button_cancels_without_alarm() -> None:
    async def scenario() -> None:
        comp, ctx = await started(countdown_s=30.0, prompt_every_s=6.0)
        outcome = comp.wait_outcome()
        assert comp.suspect("radar", {"report": "fall"})
        await asyncio.sleep(0.05)
        assert ctx.press(27)  # the press answers the question: claimed, no call
        assert (await asyncio.wait_for(outcome, 5))["outcome"] == "cancelled"
        await asyncio.sleep(0.1)
        assert [e.type for e in ctx.events] == ["fall.cancelled"]
        data = ctx.events[0].data
        assert data["button"] == 27 and data["source"] == "radar" and data["cancelled_after_s"] < 1
        assert [p for p, _ in ctx.said] == ["fall_check", "fall_cancelled"]
        assert not comp.counting_down
        check_schema(ctx.events[0])
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_second_report_during_countdown_is_the_same_fall() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        outcome = comp.wait_outcome()
        assert comp.suspect("radar", {"report": "fall"})
        comp._on_radar(RadarObservation("fall", True))
        assert not comp.suspect("wearable", {})
        await asyncio.wait_for(outcome, 5)
        assert [e.type for e in ctx.events] == ["alarm.fall"]
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_radar_presence_is_activity_rate_limited() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        seen: list[str] = []
        ctx.activity.subscribe(lambda a: seen.append(a.source))
        for _ in range(5):
            comp._on_radar(RadarObservation("moving", True, 40))
        comp._on_radar(RadarObservation("presence", False))
        assert seen == ["radar"]
        assert not ctx.events
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_quiet_wearable_stream_raises_nothing() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        comp.on_samples(np.tile([[0.0, -1.0, 0.0]], (1000, 1)), new_stream=True)
        await asyncio.sleep(0.05)
        assert not comp.counting_down and not ctx.events
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_not_built_without_any_part() -> None:
    cfg = Config(path=None, data=validate({}))  # type: ignore[arg-type]
    hardware = Hardware(gpio=None, open_i2c=lambda b: None, open_serial=lambda *a: None)
    assert build(cfg, hardware) is None
