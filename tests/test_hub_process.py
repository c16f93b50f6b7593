"""The test harness itself: a hub subprocess that never becomes ready is stopped by `HubProcess.start`
before the error reaches the test (one such hub, from a test run against unfixed code, was found still
running two hours later, holding its broker connection and its state dir)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import Broker, HubProcess, write_config


def test_a_hub_that_never_becomes_ready_is_not_left_running(tmp_path: Path, broker: Broker) -> None:
    hub = HubProcess(write_config(tmp_path / "hub.toml", broker.port))

    def never_ready(*_: Any) -> None:
        raise RuntimeError("hub not ready")

    hub.wait_ready = never_ready  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="not ready"):
        hub.start()
    assert hub.proc is not None and hub.proc.poll() is not None  # stopped, and reaped
