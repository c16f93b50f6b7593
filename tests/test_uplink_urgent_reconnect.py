"""A call raised while the broker is away keeps the reconnect attempts short: the backoff grown over a
long outage (up to reconnect_max_s, 60 s) would otherwise leave the call waiting up to a minute after the
broker is back (found trying the demo: an emergency call went out ~35 s after a broker restart)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import Broker, HubProcess, wait_until, write_config

from hub.core.uplink.liveness import URGENT_RECONNECT_MAX_S, reconnect_delay

RETRY = re.compile(r"unreachable: .*?; retry in ([\d.]+) s")


@pytest.mark.parametrize("failures", [0, 1, 3, 6, 10, 200])
def test_a_waiting_call_caps_the_delay_and_nothing_else_does(failures: int) -> None:
    urgent = [reconnect_delay(failures, 0.5, 60.0, True) for _ in range(400)]
    plain = [reconnect_delay(failures, 0.5, 60.0, False) for _ in range(400)]
    assert all(0.5 <= d <= URGENT_RECONNECT_MAX_S for d in urgent)
    assert all(0.5 <= d <= 60.0 for d in plain)
    if failures >= 6:  # the ceiling is 32 s or more: some plain draws are far beyond the cap
        assert max(plain) > 2 * URGENT_RECONNECT_MAX_S


def test_a_configured_cap_below_the_urgent_one_still_holds() -> None:
    assert all(reconnect_delay(9, 0.1, 1.0, True) <= 1.0 for _ in range(200))
    assert all(reconnect_delay(9, 8.0, 60.0, True) == pytest.approx(8.0) for _ in range(50))  # min_s wins


def started_with_the_broker_down(tmp_path: Path) -> tuple[Path, int, HubProcess]:
    """A hub whose broker's port is chosen but not listening, with a backoff that grows to 60 s."""
    root = tmp_path / "broker"
    root.mkdir()
    port = Broker(root).port
    cfg = write_config(tmp_path / "hub" / "hub.toml", port)
    cfg.write_text(cfg.read_text().replace("reconnect_min_s = 0.1\nreconnect_max_s = 1.0",
                                           "reconnect_min_s = 0.5\nreconnect_max_s = 60.0"))
    return root, port, HubProcess(cfg).start()


def broker_back_and_call_delivered(root: Path, port: int, hub: HubProcess) -> Broker:
    """The broker starts on the hub's port; the broker PUBACKs the call and the hub lets its row go."""
    broker = Broker(root, port=port).start()
    assert broker.port == port, "the test's port was taken meanwhile"
    wait_until(lambda: hub.status()["queue"]["urgent"] == 0, 30, hub.log_tail)
    return broker


@pytest.mark.slow
def test_a_call_raised_offline_goes_out_soon_after_a_long_outage_ends(tmp_path: Path) -> None:
    root, port, hub = started_with_the_broker_down(tmp_path)
    broker = None
    try:
        def delays() -> list[float]:
            return [float(d) for d in RETRY.findall(hub.log_path.read_text())]

        # No call waiting: the backoff grows as configured, past the urgent cap.
        wait_until(lambda: any(d > URGENT_RECONNECT_MAX_S for d in delays()), 90, hub.log_tail)
        before = len(delays())
        call_id = hub.sim("press")["event_id"]  # cuts that long pause short (a kick)
        assert call_id
        wait_until(lambda: len(delays()) >= before + 4, 60, hub.log_tail)
        after = delays()[before:]
        assert all(d <= URGENT_RECONNECT_MAX_S for d in after), (after, hub.log_tail())
        broker = broker_back_and_call_delivered(root, port, hub)
    finally:
        hub.stop()
        if broker is not None:
            broker.kill()


@pytest.mark.slow
def test_a_call_committed_before_a_restart_still_keeps_the_reconnects_short(tmp_path: Path) -> None:
    """The hub restarted during the outage: the call is only in the outbox (not among the rows raised
    since start), and its count there is what keeps the reconnect attempts short."""
    root, port, hub = started_with_the_broker_down(tmp_path)  # down throughout the restart too
    broker = None
    try:
        assert hub.sim("press")["event_id"]
        wait_until(lambda: hub.status()["queue"]["urgent"] >= 1, 10, hub.log_tail)
        hub.stop()
        restarted = len(hub.log_path.read_text().splitlines())
        hub.start()
        assert hub.status()["queue"]["urgent"] >= 1, "the call is still waiting after the restart"

        def delays() -> list[float]:
            tail = "\n".join(hub.log_path.read_text().splitlines()[restarted:])
            return [float(d) for d in RETRY.findall(tail)]

        # Uncapped, attempts 5 to 8 (ceilings 8, 16, 32, 60 s) would all stay under 5 s about 2 times
        # in 1,000; capped, every one does.
        wait_until(lambda: len(delays()) >= 8, 90, hub.log_tail)
        assert all(d <= URGENT_RECONNECT_MAX_S for d in delays()), (delays(), hub.log_tail())
        broker = broker_back_and_call_delivered(root, port, hub)
    finally:
        hub.stop()
        if broker is not None:
            broker.kill()
