"""What the platform may change remotely (issue 21, items 3 and 6): the allowlist, wiring held for a
technician's confirmation, a refused version that does not use the version up, the rollback ceiling, and
the broker proof on the component (the real-broker case is tests/test_remote_config_broker.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_remote_config import _hub_toml, _plan, _start, _stop, _until

from hub.config.loader import ConfigError, validate
from hub.config.schema import all_sections
from hub.core.control import ControlError
from hub.core.uplink.hold import HOLD_FILE
from hub.remote_config import allowlist
from hub.remote_config.document import Refusal
from hub.remote_config.probe import ACK, PROBE


def test_every_key_of_the_schema_is_classified_explicitly():
    """Default deny: still, every key a hub has is a decision with a reason (docs/fleet.md lists them)."""
    unclassified = []
    for section in all_sections():
        names = [f"{section.name}.{key}" for key in section.keys]
        names += [f"{section.name}.{sub}.{key}" for sub, keys in section.sub.items() for key in keys]
        for name in names:
            parts = name.split(".")
            named = any(".".join(parts[:n]) in allowlist.RULES or f"{'.'.join(parts[:n])}.*" in allowlist.RULES
                        for n in range(1, len(parts) + 1))
            if not named:
                unclassified.append(name)
    assert unclassified == []
    assert {kind for kind, _ in allowlist.RULES.values()} == {allowlist.REMOTE, allowlist.CONFIRM, allowlist.NEVER}
    assert allowlist.classify("nosuch.key")[0] == allowlist.NEVER


def test_docs_fleet_lists_every_rule():
    fleet = (Path(__file__).resolve().parent.parent / "docs" / "fleet.md").read_text(encoding="utf-8")
    table = fleet[fleet.index("### What the platform may change"):fleet.index("**Held for a technician.**")]
    assert [key for key in allowlist.RULES if f"`{key}`" not in table] == []


NEVER = [
    ({"update": {"public_key": base64.b64encode(bytes(range(32))).decode()}}, "update.public_key"),
    ({"update": {"ca": "/etc/ssl/certs/ca-certificates.crt"}}, "update.ca"),
    ({"mqtt": {"tls": {"insecure": True}}}, "mqtt.tls"),
    ({"voice": {"player": "/bin/sh"}}, "voice.player"),
    ({"voice": {"pack": "/tmp"}}, "voice.pack"),
    ({"voice_call": {"account": "sip:hub@127.0.0.1", "password": "x", "baresip": "/bin/sh"}}, "voice_call.account"),
    ({"remote_config": {"rollback_after_s": 600}}, "remote_config.rollback_after_s"),
    ({"remote_config": {"max_bytes": 2048}}, "remote_config.max_bytes"),
    ({"certificates": {"rotation_timeout_s": 3600}}, "certificates.rotation_timeout_s"),
    ({"ble": {"extra_profiles": "/tmp/p.toml"}}, "ble.extra_profiles"),
]


@pytest.mark.parametrize(("patch", "key"), NEVER)
def test_keys_only_a_technician_may_change_are_refused_naming_the_key(patch, key):
    with pytest.raises(Refusal) as refused:
        _plan(patch)
    assert refused.value.key == key and "cannot be changed remotely" in refused.value.reason


@pytest.mark.parametrize("key", ["voice_call.allowed_callers", "voice_call.auto_answer_min", "voice_call.baresip",
                                 "voice_call.audio_dump_dir", "voice_call.targets.duty", "voice_call.listen",
                                 "mqtt.tls.ca", "mqtt.tls.cert", "mqtt.tls.key", "update.max_starts",
                                 "hub.id", "hub.state_dir", "mqtt.topic_prefix", "remote_config.enabled"])
def test_trust_recording_and_paths_are_never_remote(key):
    assert allowlist.classify(key)[0] == allowlist.NEVER


@pytest.mark.parametrize(("patch", "confirm"), [
    ({"buttons": [{"pin": 22}]}, ["buttons"]),
    ({"outputs": {"buzzer_pin": 13}}, ["outputs.buzzer_pin"]),
    ({"motion": {"pin": 23}, "calls": {"guard_s": 5}}, ["motion.pin"]),
])
def test_wiring_needs_a_local_confirmation(patch, confirm):
    assert _plan(patch).confirm == confirm


def test_the_rollback_bound_has_a_hard_ceiling():
    with pytest.raises(ConfigError) as refused:
        validate({"remote_config": {"rollback_after_s": 3600}})
    assert refused.value.key == "remote_config.rollback_after_s"


# --- the component ------------------------------------------------------------------------------------
def _doc(version: int, config: dict[str, Any]) -> bytes:
    return json.dumps({"version": version, "config": config}).encode()


def test_a_refused_document_does_not_use_the_version_up(tmp_path):
    path = _hub_toml(tmp_path)

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(_doc(2**53 - 1, {"update": {"public_key": "x"}}))
        await _until(lambda: ctx.published)
        assert ctx.published[-1]["result"] == "refused" and ctx.published[-1]["key"] == "update.public_key"
        ctx.handler(_doc(2**53 - 1, {"update": {"public_key": "x"}}))  # the retained copy, on a reconnect
        ctx.handler(_doc(5, {"calls": {"guard_s": 4}}))
        await _until(lambda: ctx.published[-1]["version"] == 5)
        assert ctx.published[-1]["result"] == "applied" and component.journal.applied_version == 5
        assert [r["result"] for r in ctx.published] == ["refused", "applied"]  # refused once, not twice
        await _stop(component, ctx)

    asyncio.run(asyncio.wait_for(go(), 30))


def test_wiring_is_held_until_a_technician_applies_it(tmp_path):
    path = _hub_toml(tmp_path)
    original = path.read_bytes()
    wiring = _doc(6, {"buttons": [{"pin": 22, "kind": "emergency"}]})

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        apply = ctx.controls["remote_config.apply"]
        with pytest.raises(ControlError, match="no configuration"):
            await apply({})
        ctx.handler(wiring)
        await _until(lambda: ctx.published)
        held = ctx.published[-1]
        assert held["result"] == "held" and held["key"] == "buttons" and "hub config apply" in held["reason"]
        ctx.handler(wiring)  # again on a reconnect: not answered twice, still not applied
        await asyncio.sleep(0.2)
        assert path.read_bytes() == original and not ctx.restarts and len(ctx.published) == 1
        assert await apply({"show": True}) == {"version": 6, "confirm": ["buttons"], "changed": ["buttons"]}
        assert await apply({}) == {"version": 6, "confirm": ["buttons"], "changed": ["buttons"]}
        await _until(lambda: ctx.restarts)
        assert tomllib.loads(path.read_text())["buttons"] == [{"pin": 22, "kind": "emergency"}]
        await _stop(component, ctx)
        component, ctx = await _start(path)  # systemd starts it again: the trial
        await _until(lambda: ctx.published and ctx.published[-1]["result"] == "applied_restart")
        assert component.journal.applied_version == 6 and component.journal.held is None
        await _stop(component, ctx)

    asyncio.run(asyncio.wait_for(go(), 30))


def test_a_trial_never_outlasts_the_ceiling(tmp_path, caplog):
    """A journal written with a longer bound (an old release allowed 3600 s) is cut to the ceiling."""
    path = _hub_toml(tmp_path)
    caplog.set_level(logging.INFO, logger="hub.remote_config")

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(_doc(4, {"mqtt": {"keepalive_s": 40}}))
        await _until(lambda: ctx.restarts)
        await _stop(component, ctx)
        component.journal.pending["rollback_after_s"] = 3600  # type: ignore[index]
        component.journal.save()
        component, ctx = await _start(path, online=False)
        await _until(lambda: "on trial" in caplog.text)  # its deadline is set
        ctx.clock.advance(601)
        await _until(lambda: ctx.restarts, timeout=5)
        assert "within 600 s" in component.journal.pending["reason"]  # type: ignore[index]
        await _stop(component, ctx)

    asyncio.run(asyncio.wait_for(go(), 30))


@pytest.mark.parametrize("platform_answers", [True, False])
def test_a_broker_change_needs_the_probe_back_and_the_platform_ack(tmp_path, platform_answers):
    path = _hub_toml(tmp_path)

    async def go() -> None:
        component, ctx = await _start(path)
        assert ctx.handler is not None
        ctx.handler(_doc(9, {"mqtt": {"port": 1884}}))
        await _until(lambda: ctx.restarts)
        await _stop(component, ctx)
        assert (tmp_path / "state" / HOLD_FILE).exists()  # held from the first connection to the new broker
        component, ctx = await _start(path)  # online at once: a CONNACK alone is not enough
        topic = f"eldercare/v1/rc-1/{PROBE}"
        await _until(lambda: ctx.states.get(topic))
        probe = json.loads(ctx.states[topic])
        assert probe["version"] == 9 and len(probe["probe"]) == 16
        ctx.watched[PROBE](ctx.states[topic].encode())  # the broker hands it back
        await asyncio.sleep(POLL := 0.7)
        assert not ctx.published or ctx.published[-1]["result"] != "applied_restart"
        if platform_answers:
            await ctx.commands[ACK]({"version": 9, "probe": "0" * 16})  # not this probe: ignored
            await asyncio.sleep(POLL)
            assert not ctx.published or ctx.published[-1]["result"] != "applied_restart"
            await ctx.commands[ACK]({"version": 9, "probe": probe["probe"]})
            await _until(lambda: ctx.published and ctx.published[-1]["result"] == "applied_restart")
            assert component.journal.applied_version == 9 and ctx.held == ""  # the outbox goes out
        else:
            ctx.clock.advance(301)
            await _until(lambda: ctx.restarts)
            assert "no platform ack" in component.journal.pending["reason"]  # type: ignore[index]
            assert tomllib.loads(path.read_text())["mqtt"]["port"] == 1883
            assert not (tmp_path / "state" / HOLD_FILE).exists()  # the held events go to the old broker
        assert ctx.states[topic] == ""  # the retained probe is cleared
        await _stop(component, ctx)

    asyncio.run(asyncio.wait_for(go(), 30))
