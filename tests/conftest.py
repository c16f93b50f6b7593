"""Shared fixtures: a private mosquitto per test, a running simulated hub, a subscriber.

Use:  def test_x(hub_env): hub_env.hub.sim("press", "--button", "17"); hub_env.sub.wait_event(...)
or build your own with `broker`, `make_hub` and `subscriber` for fault tests.

A test (or module) marked `any_broker` runs once per broker in $HUB_TEST_BROKERS (tests/brokers.py:
mosquitto and ejabberd by default); `subscriber` and `make_hub` then pass that broker's credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from brokers import AnyBroker, kinds_wanted, make_broker, missing
from support import PREFIX, HubProcess, Subscriber, online_hub, write_config


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("any_broker"):
        metafunc.parametrize("broker_kind", kinds_wanted(), indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "broker" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("broker_kind", "mosquitto") if callspec else "mosquitto"
        reason = missing(kind)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def broker_kind(request: pytest.FixtureRequest) -> str:
    """Which broker `broker` starts: mosquitto, unless the test is marked any_broker."""
    return str(getattr(request, "param", "mosquitto"))


@pytest.fixture
def broker(tmp_path: Path, broker_kind: str) -> Iterator[AnyBroker]:
    root = tmp_path / "broker"
    root.mkdir()
    b = make_broker(broker_kind, root).start()
    yield b
    b.kill()


@pytest.fixture
def subscriber(broker: AnyBroker) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(topic: str = f"{PREFIX}/#", **kw: object) -> Subscriber:
        client_id = str(kw.get("client_id") or f"test-sub-{broker.port}-{time.monotonic_ns()}")
        credentials = None if "auth" in kw else broker.auth(client_id)
        if credentials is not None:
            kw.update(client_id=client_id, auth=credentials)
        s = Subscriber(broker.port, topic, **kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def make_hub(tmp_path: Path, broker: AnyBroker) -> Iterator[Callable[..., HubProcess]]:
    hubs: list[HubProcess] = []

    def make(extra: str = "", hub_id: str = "test-0001", start: bool = True, **kw: object) -> HubProcess:
        auth = broker.auth(hub_id)
        if auth is not None:
            kw["mqtt_extra"] = f'username = "{auth[0]}"\npassword = "{auth[1]}"\n{kw.get("mqtt_extra", "")}'
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
    broker: AnyBroker
    hub: HubProcess
    sub: Subscriber
    hub_id: str

    def topic(self, suffix: str) -> str:
        return f"{PREFIX}/{self.hub_id}/{suffix}"


@pytest.fixture
def hub_env(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber],
            broker: AnyBroker) -> HubEnv:
    """A simulated hub with default config (short call timers), online, with a subscriber on its topics."""
    hub, sub = online_hub(make_hub, subscriber)
    return HubEnv(broker, hub, sub, "test-0001")
