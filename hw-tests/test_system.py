"""The unit itself: broker round trip on its own topics, clock, storage, power supply and temperature."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Runner, assert_passed


@pytest.mark.parametrize("component", ["broker", "clock", "disk", "device"])
def test_system(config: Any, runner: Runner, component: str) -> None:
    assert_passed(runner.check(component), component)
