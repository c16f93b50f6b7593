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
from schema_examples import example
from support import Broker, wait_until

from hub.core.events import Event, strict_json

SCHEMAS = sorted((Path(__file__).resolve().parent.parent / "docs" / "schemas").glob("*.json"))


def sample(schema: dict[str, Any], bad_number: float | None = None) -> Any:
    """A value the schema describes, every optional member included (tests/schema_examples.py), with
    `bad_number` in every number field (the only floats an example holds)."""
    def spoil(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: spoil(v) for k, v in value.items()}
        if isinstance(value, list):
            return [spoil(v) for v in value]
        return bad_number if isinstance(value, float) and bad_number is not None else value
    return spoil(example(schema))


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
            assert s.hub.uplink is not None
            s.hub.uplink.refresh_status()  # published now, as an alarm's change is, not at the next interval
            await s.hub.raise_event("system.selftest", report)
            with s.loop.real_time():
                await asyncio.to_thread(s.sub.wait_event, "system.selftest", 30)
                await asyncio.to_thread(wait_until, lambda: any(
                    t.endswith("/status") and b"probe" in p for t, p in list(raw)), 30, "the status with the probe")

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
