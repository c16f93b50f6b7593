"""`hub run --simulate` runs the unit's GPIO code (hub.core.lines over drivers/gpiochip.py, on the lgpio
chip model) and never imports gpiozero: a gpiozero package that records its import and refuses to load
is first on the hub's path, and the hub still starts, takes a press, a hold that cancels, and motion."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support import HubProcess, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.any_broker]


def test_a_simulated_hub_presses_holds_and_sees_motion_without_gpiozero(
        make_hub: Callable[..., HubProcess], tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "gpiozero"
    shadow.mkdir(parents=True)
    marker = tmp_path / "gpiozero-imported"
    (shadow / "__init__.py").write_text(
        "import traceback\n"
        f"open({str(marker)!r}, 'a').write(''.join(traceback.format_stack()))\n"
        "raise ImportError('gpiozero was imported by hub run --simulate')\n")
    hub = make_hub(start=False)
    hub.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(shadow.parent), hub.env.get("PYTHONPATH")) if p)
    hub.start()
    pressed = hub.sim("press", "--button", "27")
    assert pressed["outcome"] == "raised", pressed
    held = hub.sim("press", "--button", "27", "--hold", "3.3")  # again within 10 s, held 3 s: cancel
    assert held["outcome"] == "repeat" and held["after_hold"] == "cancelled", held
    assert held["call_id"] == pressed["event_id"]
    assert hub.sim("motion")["edges"] == 1
    wait_until(lambda: hub.status().get("last_motion"), 10, lambda: f"motion in the status: {hub.status()}")
    assert not marker.exists(), marker.read_text()
