"""Shared fixtures: a private mosquitto per test, a running simulated hub, a subscriber.

Use:  def test_x(hub_env): hub_env.hub.sim("press", "--button", "17"); hub_env.sub.wait_event(...)
or build your own with `broker`, `make_hub` and `subscriber` for fault tests.

A test (or module) marked `any_broker` runs once per broker in $HUB_TEST_BROKERS (tests/brokers.py:
mosquitto and ejabberd by default); `subscriber` and `make_hub` then pass that broker's credentials.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from brokers import AnyBroker, kinds_wanted, make_broker, missing
from hypothesis import settings
from support import PREFIX, HubProcess, Subscriber, online_hub, write_config

CI = os.environ.get("CI", "").lower() == "true"

# Bytecode caches (__pycache__, ignored by git) on, whatever the environment says: the suite starts hundreds
# of hub and CLI processes, and with PYTHONDONTWRITEBYTECODE each compiled the hub's modules again, and each
# pytest worker rewrote every test module's asserts again (bench/startup.py measures with it off, too).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# Under CI load a generated example may take seconds (no deadline), and a red run must be the same red run
# when repeated (derandomised: the examples come from the test, not from a random seed).
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
if CI:
    settings.load_profile("ci")

# The only skips CI accepts (CI=true; .ci/run sets it): (node-id pattern, words the skip message must
# contain, why it is acceptable). Any other skip fails the run (pytest_sessionfinish below): a skipped test
# is evidence not gathered. Everything else the tests need, scripts/_setup.sh installs; CI runs as root
# with /dev/fuse, so the power-cut and card-fault tests run.
ALLOWED_SKIPS: list[tuple[str, str, str]] = [
    ("tests/test_e2e_fall.py::*", "development data", "the SisFall recordings (../shared/data) are not in the "
     "repository: a fresh clone has none; the figures on them are pinned where the data is"),
    ("tests/test_fall_eval.py::*", "development data", "as above (SisFall)"),
    ("tests/test_e2e_inactivity.py::*", "development data", "as above (the activity recordings)"),
    ("tests/test_inactivity_eval.py::*", "development data", "as above (the activity recordings)"),
    ("tests/test_provision_mistakes.py::*", "reads Mandarin with 'cmn'", "espeak-ng >= 1.52 has no non-Mandarin "
     "'zh' voice to refuse"),
    ("tests/test_systemd_unit.py::*", "no offline security scan", "older systemd-analyze versions lack it"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse", action="store_true",
                     help="run the tests in reverse collection order (finds tests that depend on others running first)")


# The long end-to-end tests (each > 5 s; most a minute or more on a loaded 2-core machine): marked `slow`
# here, in one place, so `pytest -m "not slow"` is the quick loop. A module name marks all its tests.
SLOW = (
    "test_voice_packs.py", "test_voice_phonemes.py", "test_voice_transcript_property.py",  # espeak renders
    "test_voice_truth.py", "test_voice_scenarios.py", "test_escalation_voice.py",  # whole spoken scenarios
    "test_powercut_e2e.py", "test_remote_config_powercut.py", "test_update_powercut.py",  # power-cut rounds
    "test_storage_e2e.py", "test_update_e2e.py", "test_certs_e2e.py", "test_cellular_e2e.py",
    "test_command_corpus.py", "test_voice_call_trust.py", "test_uplink_negotiation.py", "test_demo.py",
    "test_console_tmux.py", "test_provision_tmux.py", "test_voice_call_e2e.py", "test_voice_call_modem.py",
    "test_alarm_restart_e2e.py", "test_remote_config_e2e.py", "test_escalation_e2e.py",
    "test_selftest.py::test_hw_tests_suite_against_the_simulation", "test_selftest.py::test_each_fault_fails",
    "test_strict_json.py::test_the_self_test_event", "test_sim_cli.py::test_every_verb_the_hub_knows",
    "test_zigbee_scenarios.py", "test_uplink_liveness.py", "test_setup_browser.py",  # real brokers, a browser
    "test_ble_counter.py::test_the_simulated_hub_restarted", "test_sensors_home.py::test_every_fault_raises",
    "test_faults_e2e.py::test_tls_without_client_certificate", "test_auth_e2e.py::test_wrong_password",
    "test_cellular_voice.py::test_modem_reset_mid_call", "test_cellular_voice.py::test_keys_other_than_1",
    "test_remote_config_broker.py::test_a_broker_no_platform_reads", "test_homeassistant_e2e.py::test_states_follow",
    "test_console.py::test_console_refuses_to_ack", "test_console.py::test_console_says_when_nothing_arrives",
    "test_calls_e2e.py::test_first_press_held_long", "test_selftest.py::test_healthy_simulation_passes",
)


def skip_allowed(nodeid: str, message: str) -> str | None:
    return next((why for pattern, words, why in ALLOWED_SKIPS
                 if fnmatch.fnmatchcase(nodeid, pattern) and words in message), None)


_skipped: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        _skipped[report.nodeid] = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not CI:
        return
    unexpected = {nodeid: why for nodeid, why in _skipped.items() if skip_allowed(nodeid, why) is None}
    if not unexpected:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"CI=true: {len(unexpected)} test(s) skipped that are not on tests/conftest.py's ALLOWED_SKIPS:",
             *(f"  {nodeid}: {why}" for nodeid, why in sorted(unexpected.items()))]
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line, red=True)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("any_broker"):
        # The second broker's run of the same test is the full suite's (`slow`): the quick loop keeps each
        # test on mosquitto, and an Erlang VM per test (ejabberd) costs several seconds more each.
        metafunc.parametrize("broker_kind", [kind if kind == "mosquitto" else pytest.param(kind, marks=pytest.mark.slow)
                                             for kind in kinds_wanted()], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.nodeid.split("/")[-1].startswith(slow) for slow in SLOW):
            item.add_marker(pytest.mark.slow)
    if config.getoption("--reverse"):
        items.reverse()
    # the slow ones first (stable order otherwise, reversed or not): on parallel workers a long test that
    # starts last makes the whole run wait for it
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
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
