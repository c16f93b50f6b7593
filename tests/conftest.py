"""Shared fixtures: a private mosquitto per test, a running simulated hub, a subscriber.

Use:  def test_x(hub_env): hub_env.hub.sim("press", "--button", "17"); hub_env.sub.wait_event(...)
or build your own with `broker`, `make_hub` and `subscriber` for fault tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import PREFIX, Broker, HubProcess, Subscriber, mosquitto_binary, online_hub, write_config


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if mosquitto_binary() is None:
        skip = pytest.mark.skip(reason="mosquitto not installed (the README's test command installs it)")
        for item in items:
            if "broker" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    root = tmp_path / "broker"
    root.mkdir()
    b = Broker(root).start()
    yield b
    b.kill()


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(topic: str = f"{PREFIX}/#", **kw: object) -> Subscriber:
        s = Subscriber(broker.port, topic, **kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def make_hub(tmp_path: Path, broker: Broker) -> Iterator[Callable[..., HubProcess]]:
    hubs: list[HubProcess] = []

    def make(extra: str = "", hub_id: str = "test-0001", start: bool = True, **kw: object) -> HubProcess:
        cfg = write_config(tmp_path / hub_id / "hub.toml", broker.port, hub_id=hub_id, extra=extra, **kw)  # type: ignore[arg-type]
        hub = HubProcess(cfg)
        hubs.append(hub)
        if start:
            hub.start()
        return hub

    yield make
    for h in hubs:
        h.stop()


@dataclass
class HubEnv:
    broker: Broker
    hub: HubProcess
    sub: Subscriber
    hub_id: str

    def topic(self, suffix: str) -> str:
        return f"{PREFIX}/{self.hub_id}/{suffix}"


@pytest.fixture
def hub_env(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber],
            broker: Broker) -> HubEnv:
    """A simulated hub with default config (short call timers), online, with a subscriber on its topics."""
    hub, sub = online_hub(make_hub, subscriber)
    return HubEnv(broker, hub, sub, "test-0001")
