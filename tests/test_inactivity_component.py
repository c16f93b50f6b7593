"""The inactivity component on a stand-in hub context: spoken check before every alarm, away mode,
answers, persistence, `hub sim inactivity`, and the published messages against their JSON Schemas."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import fakes
import jsonschema
import pytest
from fakes import START

from hub.config.loader import Config, ConfigError, validate
from hub.core.context import Hardware
from hub.core.events import Event
from hub.detect.inactivity.component import InactivityMonitor, build
from hub.detect.inactivity.history import History
from hub.detect.inactivity.sim import SimArgumentError, SimInactivity
from hub.detect.inactivity.sim import build as build_sim

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


class FakeHub(fakes.FakeHub):
    """The shared stand-in; these tests read what was spoken as `said()`."""

    def said(self) -> list[str]:
        return self.spoken

    def add_control_command(self, name: str, handler: Any, *, cancel_on_hangup: bool = False) -> None:
        self.controls[name] = handler  # `hub feedback` (inactivity.feedback)

    @property
    def controls(self) -> dict[str, Any]:
        if not hasattr(self, "_controls"):
            self._controls: dict[str, Any] = {}
        return self._controls


def make_config(tmp_path: Path, **inactivity: Any) -> Config:
    raw = {"hub": {"state_dir": str(tmp_path), "timezone": "UTC"},
           "inactivity": {"tick_s": 300, **inactivity}}
    return Config(tmp_path / "hub.toml", validate(raw))


async def started(tmp_path: Path, **inactivity: Any) -> tuple[FakeHub, InactivityMonitor, SimInactivity]:
    config = make_config(tmp_path, **inactivity)
    hub = FakeHub(config)
    monitor = build(config, hub.hardware)
    sim = build_sim(config, hub.hardware)
    assert monitor is not None and sim is not None
    hub.components = {"inactivity": monitor}
    await monitor.start(hub)  # type: ignore[arg-type]  # FakeHub is a structural stand-in
    await sim.start(hub)  # type: ignore[arg-type]
    return hub, monitor, sim


async def stop(hub: FakeHub, monitor: InactivityMonitor) -> None:
    await monitor.close()
    await monitor.close()  # idempotent
    await hub.cancel_tasks()


def run(test: Callable[[Path], Coroutine[Any, Any, None]]) -> Callable[[Path], None]:
    """No pytest-asyncio here: each async test runs on its own fresh loop."""

    @functools.wraps(test)
    def wrapper(tmp_path: Path) -> None:
        asyncio.run(test(tmp_path))
    return wrapper


def check_schema(event: Event) -> None:
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text(encoding="utf-8"))
    jsonschema.validate(event.envelope("demo-0001", 1), schema)


@run
async def test_silence_asks_first_then_alarms(tmp_path: Path) -> None:
    hub, monitor, sim = await started(tmp_path)
    hub.activity.note("pir", START)
    reply = await hub.sims["inactivity"](["7"])
    assert reply["advanced_h"] == 7 and reply["decisions"] == 3  # the check, the louder recheck, the alarm
    assert hub.timeline.index(("say", "inactivity_check")) < hub.timeline.index(("say", "inactivity_recheck")) \
        < hub.timeline.index(("event", "alarm.inactivity"))
    (alarm,) = hub.raised("alarm.inactivity")
    check_schema(alarm)
    assert alarm.data["last_activity"].startswith("2024-03-04T09:00:00")
    assert alarm.data["gap_min"] == 370.0 and alarm.data["limit_min"] == 360.0
    assert alarm.data["basis"] == "fallback" and alarm.data["expected_max_min"] is None
    assert "inactivity_alarm" in hub.said()
    await sim.advance(["12"])
    assert len(hub.raised("alarm.inactivity")) == 1  # one per gap
    await stop(hub, monitor)


@run
async def test_the_alarm_is_sounded_and_said_before_its_bookkeeping_reaches_the_card(tmp_path: Path) -> None:
    """The operator-feedback book is saved (an fsync, on a slow or failing card) after the buzzer and the
    prompt, not before them."""
    hub, monitor, _sim = await started(tmp_path)
    saved = monitor.store.save_feedback

    def save_feedback(book: Any) -> None:
        hub.timeline.append(("save", "feedback"))
        saved(book)

    monitor.store.save_feedback = save_feedback  # type: ignore[method-assign]
    hub.activity.note("pir", START)
    await hub.sims["inactivity"](["7"])
    assert hub.timeline.index(("event", "alarm.inactivity")) < hub.timeline.index(("say", "inactivity_alarm")) \
        < hub.timeline.index(("save", "feedback"))
    await stop(hub, monitor)


@run
async def test_a_press_during_the_check_answers_it(tmp_path: Path) -> None:
    hub, monitor, _ = await started(tmp_path)
    hub.activity.note("pir", START)
    await hub.sims["inactivity"](["6.05"])
    assert hub.said() == ["inactivity_check"] and monitor.status()["asking"]
    # A technician reads the questions asked lately (the ceiling on questions, pacing.py): this one counts;
    # in its first day the unit has no early check yet, so none is paused.
    assert monitor.status()["questions_asked"] == 1 and monitor.status()["early_checks_paused"] is False
    hub.activity.note("button:17", hub.clock.now())
    await hub.sims["inactivity"](["1"])
    assert hub.said() == ["inactivity_check", "inactivity_ok"]
    assert hub.raised("alarm.inactivity") == []
    await stop(hub, monitor)


@run
async def test_presses_are_claimed_only_while_the_check_waits(tmp_path: Path) -> None:
    hub, monitor, _ = await started(tmp_path, check_wait_s=600)
    hub.activity.note("pir", START)
    assert not hub.claim_press(17)  # no question pending: a press is a call
    await hub.sims["inactivity"](["6.05"])
    assert monitor.status()["asking"] and hub.claim_press(17)  # answers "您还好吗？": no call
    assert not hub.claim_press(17)  # pressed again within 5 s: a call for help
    hub.clock.advance(600)  # (these presses reached no activity stream) the wait is over: the alarm
    await monitor.tick()
    assert hub.raised("alarm.inactivity") and not hub.answers.questions
    assert not hub.claim_press(17)  # no question pending: a press is a call again
    await stop(hub, monitor)


@run
async def test_away_mode_from_the_platform_suppresses(tmp_path: Path) -> None:
    hub, monitor, sim = await started(tmp_path)
    hub.activity.note("pir", START)
    await hub.commands["away"]({})
    await monitor.tick()
    await sim.advance(["48"])
    assert hub.raised("alarm.inactivity") == [] and "inactivity_check" not in hub.said()
    assert monitor.status()["away"]
    await hub.commands["home"]({})
    await monitor.tick()
    for event in hub.raised("away.set") + hub.raised("away.cleared"):
        check_schema(event)
        assert event.data == {"by": "platform"}
    assert not monitor.status()["away"]
    await sim.advance(["7"])
    assert hub.timeline[-4:] == [("say", "inactivity_check"), ("say", "inactivity_recheck"),
                                 ("event", "alarm.inactivity"), ("say", "inactivity_alarm")]
    await stop(hub, monitor)


@run
async def test_the_second_question_is_louder_and_a_press_answers_it(tmp_path: Path) -> None:
    hub, monitor, _ = await started(tmp_path)
    hub.activity.note("pir", START)
    await hub.sims["inactivity"](["6.05"])  # asked at 6 h: the first question waits
    assert hub.said() == ["inactivity_check"] and monitor.status()["question"] == 1
    await hub.sims["inactivity"](["0.05"])  # 6 h 6 min: five minutes unanswered, asked again
    assert hub.said() == ["inactivity_check", "inactivity_recheck"] and monitor.status()["question"] == 2
    assert hub.prompts[-1] == ("inactivity_recheck", {"volume": 200})  # [inactivity] recheck_volume
    assert "volume" not in hub.prompts[-2][1]  # the first at the hub's own loudness
    assert monitor.status()["alarm_due"] == (START + timedelta(hours=6, minutes=10)).isoformat()  # not later
    assert hub.claim_press(17)  # answers the second question: no call
    hub.activity.note("button:17", hub.clock.now())
    await hub.sims["inactivity"](["1"])
    assert hub.said() == ["inactivity_check", "inactivity_recheck", "inactivity_ok"]
    assert hub.raised("alarm.inactivity") == [] and monitor.status()["question"] is None
    await stop(hub, monitor)


@run
async def test_recheck_after_0_asks_once_as_before(tmp_path: Path) -> None:
    hub, monitor, _ = await started(tmp_path, recheck_after_s=0)
    hub.activity.note("pir", START)
    reply = await hub.sims["inactivity"](["7"])
    assert reply["decisions"] == 2 and "inactivity_recheck" not in hub.said()
    assert hub.timeline[-3:] == [("say", "inactivity_check"), ("event", "alarm.inactivity"),
                                 ("say", "inactivity_alarm")]
    await stop(hub, monitor)


@run
async def test_long_press_of_the_away_button_toggles(tmp_path: Path) -> None:
    hub, monitor, sim = await started(tmp_path, away_button_pin=17)  # the call button's pin
    (listener,) = hub.buttons
    listener(17, "press")
    listener(4, "hold")  # another button: not the away button
    await monitor.tick()
    assert not monitor.status()["away"]
    listener(17, "hold")
    await monitor.tick()
    assert [e.data["by"] for e in hub.raised("away.set")] == ["button"]
    await sim.advance(["24"])
    assert hub.raised("alarm.inactivity") == []
    listener(17, "hold")
    await monitor.tick()
    assert len(hub.raised("away.cleared")) == 1 and hub.said()[-1] == "inactivity_home"
    await stop(hub, monitor)


@run
async def test_history_survives_a_restart(tmp_path: Path) -> None:
    hub, monitor, _ = await started(tmp_path)
    for _minute in range(0, 600, 10):
        hub.clock.advance(600)
        hub.activity.note("pir", hub.clock.now())
    learned = monitor.status()["learned_gaps"]
    assert learned > 50
    await stop(hub, monitor)
    saved = History(tmp_path).load()  # appended rows (hub.detect.inactivity.history), not one JSON
    assert saved is not None and len(saved["samples"]) == learned
    hub2, monitor2, _ = await started(tmp_path)
    assert monitor2.status()["learned_gaps"] == learned
    await stop(hub2, monitor2)


@run
async def test_unreadable_history_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "inactivity.json").write_text("{not json", encoding="utf-8")
    hub, monitor, _ = await started(tmp_path)
    assert (tmp_path / "inactivity.bad").exists() and monitor.status()["learned_gaps"] == 0
    await stop(hub, monitor)


@run
async def test_sim_verb_rejects_bad_hours(tmp_path: Path) -> None:
    hub, monitor, sim = await started(tmp_path)
    for argv in ([], ["soon"], ["-1"], ["1000"]):
        with pytest.raises(SimArgumentError):
            await sim.advance(argv)
    await stop(hub, monitor)


def test_build_rules(tmp_path: Path) -> None:
    hardware = Hardware(gpio=None, open_i2c=lambda bus: None, open_serial=lambda *a, **k: None)
    assert build(make_config(tmp_path, enabled=False), hardware) is None
    assert build_sim(make_config(tmp_path), hardware) is None  # not simulated
    with pytest.raises(ConfigError, match="night_start"):
        build(make_config(tmp_path, night_start="25:99"), hardware)


YEAR_S = 365 * 86400.0


@pytest.mark.parametrize("step_s", [YEAR_S, -YEAR_S, 86400.0, -86400.0])  # > 12 h: the bug's size
def test_a_wall_clock_step_raises_no_alarm_and_keeps_the_timer(tmp_path: Path, step_s: float) -> None:
    async def body() -> None:
        hub, monitor, _ = await started(tmp_path)
        hub.activity.note("pir", START)
        hub.clock.advance(3600)
        # NTP sets the clock; motion is stamped with the new time before the ticker runs again.
        hub.clock.step_wall(step_s)
        hub.activity.note("pir", hub.clock.now())
        assert hub.clock.steps == [step_s]
        await monitor.tick()
        hub.clock.advance(5 * 3600)  # 5 h of real stillness after the last motion: under the 6 h limit
        await monitor.tick()
        assert hub.raised("alarm.inactivity") == [] and "inactivity_check" not in hub.said()
        # The timer still runs on elapsed time: 6 h after that motion the check comes, then the alarm.
        hub.clock.advance(3600 + 600)
        await monitor.tick()
        assert "inactivity_check" in hub.said() and len(hub.raised("alarm.inactivity")) == 1
        (alarm,) = hub.raised("alarm.inactivity")
        assert alarm.data["gap_min"] < 6 * 60 + 15  # the gap measured, not a year
        await stop(hub, monitor)
    asyncio.run(body())


def test_a_step_seen_on_another_thread_reaches_the_detector_before_the_activity(tmp_path: Path) -> None:
    async def body() -> None:
        hub, monitor, _ = await started(tmp_path)
        hub.activity.note("pir", START)
        hub.clock.advance(3600)
        hub.clock.step_wall(YEAR_S)
        loop = asyncio.get_running_loop()

        def motion_thread() -> None:  # as gpiozero's callback does: stamp there, act on the loop
            ts = hub.clock.now()
            loop.call_soon_threadsafe(hub.activity.note, "pir", ts)

        await asyncio.to_thread(motion_thread)
        await asyncio.sleep(0)
        await monitor.tick()
        hub.clock.advance(5 * 3600)
        await monitor.tick()
        assert hub.raised("alarm.inactivity") == [] and "inactivity_check" not in hub.said()
        await stop(hub, monitor)
    asyncio.run(body())
