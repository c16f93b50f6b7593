"""The Home Assistant discovery documents without a broker: every one passes Home Assistant's rules,
and the rules themselves catch what Home Assistant would refuse."""

from __future__ import annotations

import copy

from ha_discovery import problems, template_key

from hub.config.loader import ConfigError, validate
from hub.homeassistant.discovery import ENTITIES, documents, node_id

BRIDGE = "eldercare-bridge/sh-0042"
STATUS = "eldercare/v1/sh-0042/status"


def _docs(hub_id: str = "sh-0042") -> list[tuple[str, dict]]:
    return documents(hub_id, BRIDGE, "homeassistant", STATUS)


def test_every_document_is_valid_and_reads_a_key_of_its_state():
    docs = _docs()
    assert len(docs) == len(ENTITIES)
    for topic, doc in docs:
        assert problems(topic, doc, "homeassistant", BRIDGE) == [], topic
        assert template_key(doc["value_template"]) is not None


def test_a_hub_id_with_dots_becomes_a_valid_node_id():
    assert node_id("sh.0042 a") == "sh_0042_a"
    topic, doc = documents("sh.0042", "b/sh.0042", "homeassistant", STATUS)[0]
    assert topic.split("/")[2] == "sh_0042" and problems(topic, doc, "homeassistant", "b/sh.0042") == []


def test_the_rules_catch_what_home_assistant_refuses():
    topic, good = next((t, d) for t, d in _docs() if d.get("device_class") == "temperature")
    cases = {
        "keys Home Assistant does not accept": {**good, "unit": "°C"},
        "no unique_id": {k: v for k, v in good.items() if k != "unique_id"},
        "required keys missing": {k: v for k, v in good.items() if k != "state_topic"},
        "does not go with device_class": {**good, "unit_of_measurement": "mmHg"},
        "not under the bridge prefix": {**good, "state_topic": "elsewhere/climate"},
        "needs identifiers": {**good, "device": {"name": "x"}},
    }
    for words, doc in cases.items():
        assert any(words in p for p in problems(topic, doc, "homeassistant", BRIDGE)), words
    assert problems("homeassistant/sensor/a.b/temperature/config", copy.deepcopy(good), "homeassistant", BRIDGE)


def test_prefixes_with_wildcards_are_refused_naming_the_key():
    for value in ("eldercare-bridge/+/{hub}", "/eldercare-bridge", "bridge/{id}"):
        try:
            validate({"hub": {"id": "sh-0042"}, "homeassistant": {"enabled": True, "bridge_prefix": value}})
        except ConfigError as exc:
            assert "homeassistant.bridge_prefix" in str(exc)
        else:
            raise AssertionError(f"{value!r} accepted")
