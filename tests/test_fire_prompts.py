"""What the resident hears for each cause of a fire alarm: a fast temperature rise without smoke is not
"检测到烟雾", and its clearing is not "烟雾已消散"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes import FakeHub

from hub.config.loader import Config, validate
from hub.home.fire_alarm import FireAlarms


@pytest.mark.parametrize(("cause", "alarm", "cleared"), [
    ("rate_of_rise", "sensors_heat_rise_alarm", "sensors_heat_rise_cleared"),
    ("smoke", "sensors_fire_alarm", "sensors_fire_cleared"),
])
def test_each_cause_is_spoken_in_its_own_words(tmp_path: Path, cause: str, alarm: str, cleared: str) -> None:
    async def main() -> FakeHub:
        hub = FakeHub(Config(tmp_path / "hub.toml", validate({})))
        fires = FireAlarms(hub, announce_s=0.05)  # type: ignore[arg-type]  # FakeHub is a structural stand-in
        assert await fires.raise_(cause, {"temperature_c": 41.0}) is not None
        await asyncio.sleep(0.12)  # repeated while present, each `announce_s` after the last one
        await fires.clear(cause, {"temperature_c": 30.0})
        await asyncio.sleep(0.1)
        fires.close()
        await hub.cancel_tasks()
        return hub

    hub = asyncio.run(main())
    assert set(hub.spoken) == {alarm, cleared}
    assert hub.spoken[0] == alarm and hub.spoken[-1] == cleared and hub.spoken.count(alarm) >= 2
    assert [kind for kind, _ in hub.timeline][:2] == ["event", "say"]  # "报警已发送到社区" only once committed
