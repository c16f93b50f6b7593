"""Remote configuration without a broker: the document rules (parse, merge, validate, live or restart,
redaction) and the journal's answer to a power cut at every write of an apply and of a rollback."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import Config, load, validate
from hub.core.clock import Clock
from hub.remote_config import document, journal
from hub.remote_config.component import RemoteConfig
from hub.remote_config.document import Desired, Refusal
from hub.remote_config.trial import MAX_TRIAL_STARTS

BASE = '[hub]\nid = "rc-1"\nstate_dir = "{state}"\n\n[mqtt]\nhost = "127.0.0.1"\nport = 1883\n'


# --- parse ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("payload", "key", "words"), [
    (b"\xff\xfe", "(document)", "not JSON"),
    (b'{"version": 1, "config": {}', "(document)", "not JSON"),
    (b'{"version": 1, "config": {"calls": {"guard_s": NaN}}}', "(document)", "not JSON"),
    (b'{"version": 1, "config": {"calls": {"guard_s": 1e999}}}', "(document)", "out of range"),
    (b'"text"', "(document)", "must be a JSON object"),
    (b'{"config": {}}', "version", "whole number"),
    (b'{"version": true, "config": {}}', "version", "whole number"),
    (b'{"version": 0, "config": {}}', "version", "whole number"),
    (b'{"version": 1.5, "config": {}}', "version", "whole number"),
    (b'{"version": 2}', "config", "must be an object"),
    (b'{"version": 2, "config": [1]}', "config", "must be an object"),
    (b'{"version": 2, "config": {"hub": {"resident_ref": "\\ud800"}}}', "hub.resident_ref", "lone UTF-16 surrogate"),
    (b"[" * 100000 + b"]" * 100000, "(document)", "max_bytes"),
])
def test_unusable_documents_are_refused_with_the_reason(payload, key, words):
    with pytest.raises(Refusal) as refused:
        document.parse(payload, 65536)
    assert refused.value.key == key and words in refused.value.reason


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(Refusal, match="not JSON"):
        document.parse(b'{"version": 1, "config": ' + b"[" * 60000 + b"]" * 60000 + b"}", 1 << 20)


def test_a_good_document_and_extra_members():
    desired = document.parse(b'{"version": 9, "config": {"calls": {"guard_s": 5}}, "issued_by": "ops"}', 65536)
    assert desired == Desired(9, {"calls": {"guard_s": 5}})


# --- merge ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "patch", "result"), [
    ({"calls": {"guard_s": 5}}, {"calls": {"ack_timeout_s": 30}}, {"calls": {"guard_s": 5, "ack_timeout_s": 30}}),
    ({"calls": {"guard_s": 5}}, {"calls": {"guard_s": None}}, {"calls": {}}),
    ({"calls": {"guard_s": 5}}, {"calls": None}, {}),
    ({"buttons": [{"pin": 17}, {"pin": 27}]}, {"buttons": [{"pin": 22}]}, {"buttons": [{"pin": 22}]}),
    ({"mqtt": {"tls": {"ca": "a", "cert": "b"}}}, {"mqtt": {"tls": {"cert": None}}}, {"mqtt": {"tls": {"ca": "a"}}}),
    ({}, {"mqtt": {"tls": {"ca": "a", "cert": None}}}, {"mqtt": {"tls": {"ca": "a"}}}),
    ({"hub": {"id": "x"}}, {}, {"hub": {"id": "x"}}),
])
def test_merge_patch(target, patch, result):
    before = json.dumps(target)
    assert document.merge_patch(target, patch) == result
    assert json.dumps(target) == before  # the file's tables are left alone


# --- plan: the same validator as the file -----------------------------------------------------------
def _plan(patch: dict[str, Any], file: dict[str, Any] | None = None) -> document.Plan:
    tables = file or {"hub": {"id": "rc-1"}, "mqtt": {"host": "127.0.0.1"}}
    return document.plan(tables, validate(tables), Desired(3, patch), "hub.toml")


@pytest.mark.parametrize(("patch", "key", "words"), [
    ({"mqtt": {"port": 0}}, "mqtt.port", ["out of range 0", "from 1 to 65535"]),
    ({"mqtt": {"port": "1883"}}, "mqtt.port", ["bad value '1883'", "an integer"]),
    ({"calls": {"guard_s": True}}, "calls.guard_s", ["bad value True", "a number"]),
    ({"hub": {"log_level": "LOUD"}}, "hub.log_level", ["'LOUD'", "one of 'DEBUG'"]),
    ({"callz": {}}, "callz", ["unknown section"]),
    ({"calls": {"guard": 1}}, "calls.guard", ["unknown key", "guard_s"]),
    ({"buttons": [{"pin": 17}, {"pin": 17}]}, "buttons[1].pin", ["GPIO17 is already used"]),
    ({"mqtt": {"password": 5}}, "mqtt.password", ["bad value (hidden)"]),
    ({"mqtt": {"username": "u"}}, "mqtt.password", ["username and password go together"]),
    ({"modem": {"sms_numbers": ["duty"]}}, "modem.sms_numbers", ["not a phone number"]),
    ({"hub": {"id": "rc-2"}}, "hub.id", ["cannot be changed remotely"]),
    ({"hub": {"state_dir": "/tmp/x"}}, "hub.state_dir", ["cannot be changed remotely"]),
    ({"mqtt": {"topic_prefix": "x/v2"}}, "mqtt.topic_prefix", ["cannot be changed remotely"]),
    ({"remote_config": {"enabled": False}}, "remote_config.enabled", ["cannot be changed remotely"]),
])
def test_invalid_config_is_refused_naming_key_value_and_what_is_allowed(patch, key, words):
    with pytest.raises(Refusal) as refused:
        _plan(patch)
    assert refused.value.key == key and refused.value.version == 3
    assert all(w in refused.value.reason for w in words), refused.value.reason


@pytest.mark.parametrize(("patch", "changed", "live"), [
    ({"calls": {"ack_timeout_s": 45, "guard_s": 5}}, ["calls.ack_timeout_s", "calls.guard_s"], True),
    ({"hub": {"log_level": "DEBUG"}, "mqtt": {"status_interval_s": 10}}, ["hub.log_level", "mqtt.status_interval_s"],
     True),
    ({"calls": {"ack_timeout_s": 45, "cancel_hold_s": 2}}, ["calls.ack_timeout_s", "calls.cancel_hold_s"], False),
    ({"mqtt": {"host": "broker.example"}}, ["mqtt.host"], False),
    ({"voice": {"language": "en"}}, ["voice.language"], False),
    ({"buttons": [{"pin": 17}, {"pin": 27, "kind": "family"}]}, ["buttons"], False),
    ({"modem": {"sms_numbers": ["+8613800138000"]}}, ["modem.sms_numbers"], False),
    ({"mqtt": {"host": "127.0.0.1"}, "calls": {"guard_s": 10.0}}, [], True),  # the values it has already
    ({"hub": {"id": "rc-1"}}, [], True),  # a locked key at its own value is fine
])
def test_what_changes_and_whether_it_applies_live(patch, changed, live):
    plan = _plan(patch)
    assert plan.changed == changed and plan.live is live


def test_tls_keys_are_compared_one_by_one():
    before = validate({"hub": {"id": "rc-1"}, "mqtt": {"tls": {"ca": "/a.pem"}}})
    after = validate({"hub": {"id": "rc-1"}, "mqtt": {"tls": {"ca": "/b.pem"}}})
    assert document.diff(before, after) == ["mqtt.tls.ca"]


def test_every_secret_is_redacted():
    secrets = document.secret_keys()
    assert {"mqtt.password", "mqtt.tls.key", "voice_call.password"} <= secrets
    tables: dict[str, Any] = {"hub": {"id": "rc-1"}, "mqtt": {"username": "u", "password": "p-1",
                                                             "tls": {"ca": "/c", "cert": "/c2", "key": "p-2"}},
                              "voice_call": {"account": "sip:hub@x", "password": "p-3"}}
    shown = json.dumps(document.redact(validate(tables)))
    assert "p-1" not in shown and "p-2" not in shown and "p-3" not in shown
    assert shown.count('"(hidden)"') == 3 and '"u"' in shown and '"/c2"' in shown
    assert document.redact(validate({}))["mqtt"]["password"] is None  # unset stays null, not "(hidden)"


# --- the component and the journal: a power cut at every write ----------------------------------------
class PowerCut(Exception):
    pass


class FakeAlarms:
    def open_alarms(self) -> list[Any]:
        return []


class FakeCtx:
    def __init__(self, config: Config, online: bool = True) -> None:
        self.config, self.clock, self.alarms, self.online = config, Clock(), FakeAlarms(), online
        self.restarts: list[str] = []
        self.published: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {}
        self.handler: Callable[[bytes], None] | None = None
        self.watched: dict[str, Callable[[bytes], None]] = {}
        self.commands: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.controls: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.states: dict[str, str] = {}
        self.held = ""
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        self.tasks.append(asyncio.get_running_loop().create_task(coro, name=name))
        return self.tasks[-1]

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)

    def publish_retained(self, suffix: str, body: dict[str, Any]) -> None:
        self.published.append(body)

    def watch_topic(self, suffix: str, handler: Callable[[bytes], None]) -> None:
        self.watched[suffix] = handler
        if suffix == "config/desired":
            self.handler = handler

    def publish_state(self, topic: str, payload: str) -> None:
        self.states[topic] = payload

    def hold_events(self, reason: str) -> None:
        self.held = reason

    def add_platform_command(self, name: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        self.commands[name] = handler

    def add_control_command(self, name: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        self.controls[name] = handler

    def set_status(self, key: str, value: Any) -> None:
        self.status[key] = value


def _hub_toml(tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir()
    path = tmp_path / "hub.toml"
    path.write_text("# the installer's file\n" + BASE.format(state=tmp_path / "state"))
    return path


async def _until(check: Callable[[], Any], timeout: float = 10) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


async def _start(path: Path, online: bool = True) -> tuple[RemoteConfig, FakeCtx]:
    component = RemoteConfig(load(path))
    ctx = FakeCtx(component.config, online)
    await component.start(ctx)  # type: ignore[arg-type]
    return component, ctx


async def _stop(component: RemoteConfig, ctx: FakeCtx) -> None:
    await component.close()
    for task in ctx.tasks:
        task.cancel()
    await asyncio.gather(*ctx.tasks, return_exceptions=True)


class Card:
    """Every durable write of the journal module; the power goes just before the `cut`-th (1-based)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cut: int | None) -> None:
        self.written: list[str] = []
        self.cut_happened = False
        real = journal.atomic_write

        def write(path: Path, content: bytes, *args: Any, **kwargs: Any) -> None:
            if cut is not None and len(self.written) + 1 == cut:
                self.cut_happened = True
                raise PowerCut(path.name)
            real(path, content, *args, **kwargs)
            self.written.append(path.name)
        monkeypatch.setattr(journal, "atomic_write", write)


APPLY_WRITES = ["remote-config.previous.toml", "remote-config.json", "hub.toml.bak", "hub.toml"]
RESTART_CHANGE = json.dumps({"version": 4, "config": {"mqtt": {"keepalive_s": 40}}}).encode()


@pytest.mark.parametrize("cut", [1, 2, 3, 4, None])
def test_power_cut_while_applying_a_change_that_needs_a_restart(tmp_path, monkeypatch, cut):
    path = _hub_toml(tmp_path)
    original = path.read_bytes()

    async def go() -> None:
        card = Card(monkeypatch, cut)
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(RESTART_CHANGE)
        await _until(lambda: ctx.restarts or card.cut_happened)
        await _stop(component, ctx)
        assert card.written == APPLY_WRITES[:len(card.written)]
        monkeypatch.undo()
        # The power is back: whatever the file, the hub ends in a state it can name.
        component, ctx = await _start(path)
        if cut is None:
            assert tomllib.loads(path.read_text())["mqtt"]["keepalive_s"] == 40
            await _until(lambda: ctx.published)  # the trial: online at once
            assert ctx.published[-1]["result"] == "applied_restart" and component.journal.applied_version == 4
            assert component.journal.pending is None and not component.journal.previous_path.exists()
        else:
            assert path.read_bytes() == original and component.journal.pending is None
            assert component.journal.seen_version == 0  # not acted on: the retained document applies it again
            assert ctx.handler is not None
            ctx.handler(RESTART_CHANGE)
            await _until(lambda: ctx.restarts)
        await _stop(component, ctx)

    asyncio.run(asyncio.wait_for(go(), 30))


@pytest.mark.parametrize("cut", [1, 2, 3, None])
def test_power_cut_while_rolling_back(tmp_path, monkeypatch, cut):
    """A change that never reached the broker in MAX_TRIAL_STARTS starts is rolled back at the next one;
    the power may go before any of the rollback's writes."""
    path = _hub_toml(tmp_path)
    original = path.read_bytes()

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(RESTART_CHANGE)
        await _until(lambda: ctx.restarts)
        await _stop(component, ctx)
        for _ in range(MAX_TRIAL_STARTS):  # started, and never online
            component, ctx = await _start(path, online=False)
            await _stop(component, ctx)
        card = Card(monkeypatch, cut)
        try:
            component, ctx = await _start(path, online=False)  # one start too many: rolls back
            assert ctx.restarts == ["finishing the rollback of config version 4"]
        except PowerCut:
            pass
        monkeypatch.undo()
        assert card.written == ["remote-config.json", "hub.toml.bak", "hub.toml"][:len(card.written)]
        for _ in range(3):  # systemd starts it until it runs without asking for a restart
            component, ctx = await _start(path)
            await _stop(component, ctx)
            if not ctx.restarts:
                break
        assert path.read_bytes() == original
        assert component.journal.pending is None and component.journal.seen_version == 4
        assert component.journal.applied_version == 0
        report = ctx.published[-1]
        assert report["result"] == "rolled_back" and report["version"] == 4
        assert f"started {MAX_TRIAL_STARTS} times" in report["reason"]
        assert not component.journal.previous_path.exists()

    asyncio.run(asyncio.wait_for(go(), 30))


def test_a_file_edited_by_hand_during_the_trial_is_kept(tmp_path):
    path = _hub_toml(tmp_path)

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(RESTART_CHANGE)
        await _until(lambda: ctx.restarts)
        await _stop(component, ctx)
        edited = path.read_text().replace("keepalive_s = 40", "keepalive_s = 50")
        path.write_text(edited)  # a technician at the door
        component, ctx = await _start(path, online=False)
        await _stop(component, ctx)
        assert path.read_text() == edited and component.journal.pending is None and not ctx.restarts

    asyncio.run(asyncio.wait_for(go(), 30))
