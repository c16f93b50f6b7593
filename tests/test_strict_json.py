"""Issue 21 item 8: a NaN was published on the self-test topic (non-strict JSON). Everything the hub
publishes goes through hub.core.events.strict_json: checked here over a sample of every schema in
docs/schemas (with real numbers, the strictly parsed text validates; with NaN/Infinity in every number,
the text is still strict JSON), and end to end on the broker for the self-test event and the status."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from scenario import Scenario
from support import Broker

from hub.core.events import Event, strict_json

SCHEMAS = sorted((Path(__file__).resolve().parent.parent / "docs" / "schemas").glob("*.json"))
PATTERNS = {  # a value for each `pattern` the schemas use
    r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$": "22:00-06:00",
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": "demo-0001",
    r"^([a-z_]+|code_0x[0-9a-f]{2})$": "code_0x1f",
    r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$": "Asia/Shanghai",
    "-----BEGIN CERTIFICATE-----": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    r"^code_0x[0-9a-f]{2}$": "code_0x1f",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$": "demo-0001",
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$": "2026-12-06T18:00:00.000+08:00",
    r"^-----BEGIN [A-Z0-9 ]+-----": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
    r"^/dev/[A-Za-z0-9_/.-]+$": "/dev/ttyUSB2",
    r"^[0-9a-f]+$": "0a1b",
    r"^-----BEGIN ": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    r"^[A-Za-z0-9.:-]+$": "10.0.0.1",
    r"^[^#+]+$": "eldercare/v1",
    r"^[A-Za-z0-9][A-Za-z0-9._:-]*$": "demo:0001",
}
FORMATS = {"date-time": "2026-12-06T18:00:00.000+08:00", "uuid": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"}


def sample(schema: dict[str, Any], bad_number: float | None = None) -> Any:
    """A value the schema describes, every optional member included; `bad_number` in every number."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return sample(schema[key][0], bad_number)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in [{k: v for k, v in schema.items() if k != "allOf"}, *schema["allOf"]]:
            for k, v in part.items():
                merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) and k == "properties" else v
        return sample(merged, bad_number)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = {**{k: {} for k in schema.get("required", [])}, **schema.get("properties", {})}
        return {k: sample(v, bad_number) for k, v in props.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), bad_number)] * max(1, schema.get("minItems", 1))
    if kind == "boolean":
        return True
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return bad_number if bad_number is not None else float(schema.get("minimum", 0)) + 0.5 * (
            "maximum" not in schema or schema["maximum"] - schema.get("minimum", 0) >= 0.5)
    if kind == "null":
        return None
    if "format" in schema:
        return FORMATS[schema["format"]]
    if "pattern" in schema:
        return PATTERNS[schema["pattern"]]
    return "x" * max(1, schema.get("minLength", 1))


def strict_loads(text: str) -> Any:
    def refuse(word: str) -> Any:
        raise ValueError(f"{word} in published JSON")
    return json.loads(text, parse_constant=refuse)


def published(name: str, value: Any) -> str:
    """The text the hub would publish: an event through its envelope, a document through strict_json."""
    if isinstance(value, dict) and value.get("type") == name and "data" in value:
        return Event(name, value["data"]).payload(str(value.get("hub", "demo-0001")), 7)
    return strict_json(value, name)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.stem)
def test_a_strictly_parsed_sample_of_every_schema_validates(path: Path) -> None:
    schema = json.loads(path.read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    message = strict_loads(published(path.stem, sample(schema)))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(message)]
    assert not errors, errors[:5]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("path", [p for p in SCHEMAS if '"number"' in p.read_text()], ids=lambda p: p.stem)
def test_nan_and_infinity_never_reach_the_text(path: Path, bad: float) -> None:
    value = sample(json.loads(path.read_text()), bad_number=bad)
    text = published(path.stem, value)
    assert "NaN" not in text and "Infinity" not in text
    strict_loads(text)


def test_finite_data_is_written_exactly_as_before() -> None:
    event = Event("telemetry.environment", {"temperature_c": 21.5, "text": "温度", "n": [1, 2.25]})
    assert event.payload("h", 1) == json.dumps(event.envelope("h", 1), ensure_ascii=False, separators=(",", ":"))


def test_a_non_finite_number_is_null_and_the_log_says_where(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hub.core.events")
    text = Event("system.probe_nan", {"a": [1.0, math.nan], "b": {"c": math.inf}}).payload("h", 1)
    assert strict_loads(text)["data"] == {"a": [1.0, None], "b": {"c": None}}
    assert "system.probe_nan: non-finite numbers sent as null" in caplog.text
    assert ".data.a[1]=nan" in caplog.text and ".data.b.c=inf" in caplog.text


def test_the_self_test_event_and_the_status_on_the_broker_carry_no_nan(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    raw: list[tuple[str, bytes]] = []
    try:
        s = Scenario(tmp_path, broker)
        receive = s.sub.client.on_message
        s.sub.client.on_message = lambda c, u, m: (raw.append((m.topic, m.payload)), receive(c, u, m))

        async def body(s: Scenario) -> None:
            report = {"ok": False, "passed": math.nan, "failed": math.inf, "skipped": 0, "failed_components": [],
                      "results": [], "trigger": "local", "only": None, "simulated": True, "latency_ms": math.nan}
            s.hub.set_status("probe", {"rtt_ms": math.nan})
            await s.hub.raise_event("system.selftest", report)
            with s.loop.real_time():
                await asyncio.to_thread(s.sub.wait_event, "system.selftest", 30)

        s.run(body)
    finally:
        broker.stop()
    selftest = [p for t, p in raw if t.endswith("/event/system") and b"system.selftest" in p]
    assert selftest, [t for t, _ in raw]
    for _, payload in raw:
        strict_loads(payload.decode())  # every message the hub sent: status, the self-test event, all
    event = strict_loads(selftest[0].decode())
    assert event["data"]["passed"] is None and event["data"]["latency_ms"] is None
    status = [strict_loads(p.decode()) for t, p in raw if t.endswith("/status")]
    assert any(isinstance(b, dict) and b.get("probe") == {"rtt_ms": None} for b in status), status[-1:]
