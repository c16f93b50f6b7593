"""The platform contract stays whole: every event type the code raises has a schema and is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()
CATEGORIES = ("alarm", "call", "fault", "power", "telemetry", "measurement", "health", "fall", "away", "system", "cert",
              "voice", "escalation", "sms", "wellbeing", "report", "valve", "notice", "reminder",
              "feedback")
TYPE_RE = re.compile(r'"((?:' + "|".join(CATEGORIES) + r')\.[a-z_]+)"')
NOT_EVENTS = re.compile(r"\.(countdown|speaker|radar|radar_port|status|wearable|wearable_address|last_follow_up|"
                        r"good_pin|low_battery_pin|pem|steps|link|"
                        r"espeak_voice|pack|jsonl|day)$")  # config keys, status fields, file/task names: not events


def raised_types() -> set[str]:
    found: set[str] = set()
    for path in list((ROOT / "hub").rglob("*.py")) + list((ROOT / "sensors").rglob("*.py")):
        found |= {t for t in TYPE_RE.findall(path.read_text()) if not NOT_EVENTS.search(t)}
    return found


def test_the_code_raises_the_core_types():
    assert {"call.raised", "alarm.fire", "measurement.blood_pressure", "alarm.fall"} <= raised_types()


@pytest.mark.parametrize("event_type", sorted(raised_types()))
def test_every_event_type_has_a_schema_and_a_line_in_the_protocol(event_type):
    path = SCHEMAS / f"{event_type}.json"
    assert path.exists(), f"no docs/schemas/{event_type}.json"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"] == {"const": event_type}
    assert f"`{event_type}`" in PROTOCOL, f"docs/protocol.md does not mention `{event_type}`"


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_is_valid(path):
    Draft202012Validator.check_schema(json.loads(path.read_text()))
