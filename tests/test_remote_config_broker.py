"""Moving a hub to another broker by remote configuration, against real mosquittos (issue 21 item 6):
a CONNACK is not enough. The move is confirmed only when the hub's probe comes back through the new broker
and the platform acknowledges it there (cmd/config_ack); a live broker no platform reads is rolled back,
and a call pressed meanwhile is held in the outbox and reaches the original broker, where the platform is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from supervisor import Supervisor
from support import PREFIX, Broker, HubProcess, Subscriber, wait_online
from test_remote_config_e2e import HUB, PlatformAcker, _wait_status, desire, reported

from hub.core.uplink.hold import HOLD_FILE

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def second_broker(tmp_path: Path) -> Iterator[tuple[Broker, Subscriber]]:
    """Another live broker, and a recorder of everything this hub sends there (a test spy, not a platform)."""
    root = tmp_path / "second"
    root.mkdir()
    broker = Broker(root).start()
    spy = Subscriber(broker.port, f"{PREFIX}/{HUB}/#")
    yield broker, spy
    spy.close()
    broker.kill()


@pytest.fixture
def on_first_broker(make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]
                    ) -> Iterator[Callable[[str], tuple[Supervisor, Subscriber]]]:
    """The hub run as systemd runs it, on the test's first broker, where the platform (`sub`) is."""
    made: list[Supervisor] = []

    def make(extra: str = "") -> tuple[Supervisor, Subscriber]:
        sub = subscriber(f"{PREFIX}/{HUB}/#")
        made.append(Supervisor(make_hub(extra=extra, start=False)).start())
        assert wait_online(sub, HUB), made[-1].hub.log_tail()
        return made[-1], sub

    yield make
    for supervisor in made:
        supervisor.stop()


def _with_id(sub: Subscriber, event_id: str) -> list[Any]:
    with sub.lock:
        return [m for m in sub.messages if isinstance(m[2], dict) and m[2].get("id") == event_id]


def _on_trial(supervisor: Supervisor) -> None:
    """The hub runs on the new broker and waits for the platform's ack (its status says so)."""
    assert _wait_status(supervisor.hub, lambda st: "new broker" in st.get("config", {}).get("waiting", ""), 40), \
        supervisor.hub.log_tail()


def test_a_broker_no_platform_reads_is_rolled_back_and_calls_reach_the_original(on_first_broker, second_broker):
    supervisor, sub = on_first_broker("[remote_config]\nrollback_after_s = 10\n")
    hub = supervisor.hub
    stray, spy = second_broker
    original = hub.config.read_bytes()
    desire(sub, {"version": 7, "config": {"mqtt": {"port": stray.port}}})
    _on_trial(supervisor)
    probe = spy.wait_for(lambda m: m[1].endswith("/selftest/config") and isinstance(m[2], dict), 20)
    assert probe is not None and probe[2]["version"] == 7  # connected there: a CONNACK alone once confirmed it
    call_id = hub.sim("press", "--button", "17")["event_id"]  # pressed while on the stray broker
    report = reported(sub, 7, "rolled_back", timeout=60)
    assert "no platform ack (cmd/config_ack)" in report["reason"] and "mqtt.port" in report["reason"], report
    assert supervisor.exits == [0, 0] and hub.config.read_bytes() == original
    assert not (hub.state_dir / HOLD_FILE).exists()
    # The call was held, not handed to a broker no platform reads: it reaches the original one.
    assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 30) is not None, \
        hub.log_tail()
    assert _with_id(spy, call_id) == []
    hub.wait_ready()  # restarted: the uplink (and the held call) comes up before the control socket
    again = hub.sim("press", "--button", "27")["event_id"]
    assert sub.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == again, 15) is not None


def test_a_broker_the_platform_reads_is_confirmed_by_its_ack(on_first_broker, second_broker):
    supervisor, sub = on_first_broker()
    hub = supervisor.hub
    new, spy = second_broker
    platform = PlatformAcker(new.port)
    try:
        desire(sub, {"version": 3, "config": {"mqtt": {"port": new.port}}})
        report = reported(spy, 3, "applied_restart", timeout=60)  # reported where the hub now is
        assert report["config"]["mqtt"]["port"] == new.port and supervisor.exits == [0]
        assert platform.acked and platform.acked[0]["version"] == 3
        assert not (hub.state_dir / HOLD_FILE).exists()
        assert spy.wait_for(lambda m: m[1].endswith("/selftest/config") and m[2] == b"", 10) is not None
        hub.wait_ready()  # the report comes over the uplink, which starts before the control socket
        call_id = hub.sim("press", "--button", "17")["event_id"]
        assert spy.wait_for(lambda m: isinstance(m[2], dict) and m[2].get("id") == call_id, 15) is not None
    finally:
        platform.close()
