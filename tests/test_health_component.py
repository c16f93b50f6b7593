"""The health component with the simulated meters on a stand-in hub context: `hub sim bp 185 112`
goes over the virtual BLE link and comes out graded, alerted and spoken; messages match their schemas."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fakes
import jsonschema
import pytest
from fakes import START

from hub.config.loader import Config, validate
from hub.core.activity import Activity
from hub.core.context import Hardware
from hub.core.events import Event
from hub.health.component import build
from hub.health.sim.component import build as build_sim

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


class FakeHub(fakes.FakeHub):
    """The shared stand-in, also keeping the activity that the meters report."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.noted: list[Activity] = []
        self.activity.subscribe(self.noted.append)

    of = fakes.FakeHub.raised


def check_schema(event: Event) -> None:
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text(encoding="utf-8"))
    message = json.loads(event.payload("hub-1", 1))
    jsonschema.validate(message, schema, format_checker=jsonschema.FormatChecker())


def make(tmp_path: Path, **grading: Any) -> tuple[FakeHub, Any, Any]:
    config = Config(
        tmp_path / "hub.toml",
        validate(
            {
                "hub": {"state_dir": str(tmp_path / "state")},
                "health_grading": grading,
                "ble": {"cooldown_s": 0.0, "backoff_min_s": 0.1},
            }
        ),
    )
    hub = FakeHub(config)
    sim = build_sim(config, hub.hardware)
    health = build(config, hub.hardware)
    assert sim is not None and health is not None
    return hub, sim, health


@contextlib.asynccontextmanager
async def started(tmp_path: Path, paired: bool = True, **grading: Any) -> AsyncIterator[tuple[FakeHub, Any]]:
    """The simulated meters and the health component running on a stand-in hub; the simulation is
    reachable as hub.components["sim"]. Everything is closed on the way out, failing or not."""
    hub, sim, health = make(tmp_path, **grading)
    hub.components["sim"] = sim
    hub.components["health"] = health  # the sim tells it when the meters are first paired
    await sim.start(hub)
    if paired:  # the meters paired before the hub starts, as on a unit in use (else: by the first verb)
        await sim.board()
    await health.start(hub)
    try:
        yield hub, sim
    finally:
        await hub.cancel_tasks()
        await health.close()
        await sim.close()


def run(tmp_path: Path, scenario: Any, paired: bool = True, **grading: Any) -> FakeHub:
    async def go() -> FakeHub:
        async with started(tmp_path, paired, **grading) as (hub, _):
            await scenario(hub)
        return hub

    return asyncio.run(asyncio.wait_for(go(), 30))


def test_sim_bp_185_112_is_grade_3_with_alert_and_spoken_advice(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        answer = await hub.sims["bp"](["185", "112", "--pulse", "88"])
        assert answer["meter"] == "C0:FF:EE:00:00:01"
        await hub.wait_for("health.alert")

    hub = run(tmp_path, scenario)
    (bp,) = hub.of("measurement.blood_pressure")
    assert (bp.data["systolic"], bp.data["diastolic"], bp.data["grade"]) == (185, 112, "grade_3")
    assert bp.data["isolated_systolic"] is False and bp.data["referral"] is True
    assert bp.data["pulse"] == 88 and bp.data["time_status"] == "ok" and bp.ts == START
    assert bp.data["raw"]["unit"] == "mmHg" and bp.data["raw"]["systolic"] == 185
    (alert,) = hub.of("health.alert")
    assert alert.data["measurement_id"] == bp.id and alert.data["reason"] == "bp_grade_3"
    assert hub.spoken == ["health_bp_reading", "health_bp_very_high"]  # the reading, then the advice
    fields = dict(hub.prompts[0][1])
    # one utterance: the reading, then its advice about the alert it raised ("…已通知社区" once sent)
    assert fields.pop("then") == (("health_bp_very_high", {"about": alert.id}),)
    assert fields == {"systolic": 185, "diastolic": 112, "grade": "很高", "grade_en": "very high"}
    assert [a.source for a in hub.noted] == ["ble:bp"]
    assert hub.status["ble_meters"][0]["kind"] == "bp"
    for event in hub.events:
        check_schema(event)


@pytest.mark.parametrize(("reading", "then"), [
    (["165", "102"], (("health_bp_high", {}),)),  # grade 2: no alert, but what to do now
    (["150", "92"], ()),  # grade 1: the reading and its grade only
])
def test_a_grade_2_reading_is_said_with_what_to_do_and_raises_no_alert(tmp_path: Path, reading: list[str],
                                                                        then: tuple[Any, ...]) -> None:
    """Before, "血压一百六十五，一百零二，高" and nothing more: a number an old person is left alone with."""
    async def scenario(hub: FakeHub) -> None:
        await hub.sims["bp"](reading)
        await hub.wait_for("measurement.blood_pressure")

    hub = run(tmp_path, scenario)
    assert hub.of("health.alert") == []
    assert hub.prompts[0][0] == "health_bp_reading" and dict(hub.prompts[0][1]).get("then", ()) == then


def test_no_meter_paired_no_listening_until_the_first_verb_pairs_them(tmp_path: Path) -> None:
    """A unit with no meter paired does not scan (no coordinator); `hub sim bp` puts the meters on the
    board, pairs them and tells the health component, which listens at once and hears the reading."""

    async def go() -> FakeHub:
        async with started(tmp_path, paired=False) as (hub, _):
            health = hub.components["health"]
            await asyncio.sleep(0.05)
            assert health.coordinator is None and hub.status["ble_meters"] == []
            await hub.sims["bp"](["150", "95"])
            await hub.wait_for("measurement.blood_pressure")
            assert health.coordinator is not None
            assert [m["kind"] for m in hub.status["ble_meters"]] == ["bp", "glucose"]
        return hub

    hub = asyncio.run(asyncio.wait_for(go(), 30))
    (bp,) = hub.of("measurement.blood_pressure")
    assert (bp.data["systolic"], bp.data["diastolic"]) == (150, 95)


def test_glucose_with_meal_context_and_hypo_alert(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        await hub.sims["glucose"](["7.4", "--meal", "fasting"])
        await hub.wait_for("measurement.glucose")
        await hub.sims["glucose"](["7.4"])
        await hub.wait_for("measurement.glucose", 2)
        await hub.sims["glucose"](["2.8", "--meal", "before"])
        await hub.wait_for("health.follow_up")  # raised after the alert, once the trend is read

    hub = run(tmp_path, scenario)
    readings = hub.of("measurement.glucose")
    assert [(r.data["mmol_per_l"], r.data.get("meal"), r.data["category"]) for r in readings] == [
        (7.4, "fasting", "high"),
        (7.4, None, "normal"),
        (2.8, "before", "hypo_severe"),
    ]
    assert [r.data["sequence"] for r in readings] == [1, 2, 3]
    assert "meal" not in readings[1].data
    (alert,) = hub.of("health.alert")
    assert alert.data["reason"] == "glucose_low"
    assert hub.spoken == ["health_glucose_reading"] * 3 + ["health_glucose_low"]
    assert [(f["mmol"], f["grade"]) for _, f in hub.prompts[:3]] == [("7.4", "偏高"), ("7.4", "正常"), ("2.8", "很低")]
    assert hub.of("health.follow_up")[0].data["level_name"] == "三级"  # severe hypoglycaemia
    assert {a.source for a in hub.noted} == {"ble:glucose"}
    for event in hub.events:
        check_schema(event)


def test_follow_up_at_most_once_per_interval(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        for n, (s, d) in enumerate([(165, 101), (168, 100), (170, 104), (166, 102)], start=1):
            await hub.sims["bp"]([str(s), str(d)])
            await hub.wait_for("measurement.blood_pressure", n)
            hub.clock.advance(3600)
        hub.clock.advance(8 * 86400)  # a week later the trend still asks, so it goes out again
        await hub.sims["bp"](["172", "103"])
        await hub.wait_for("measurement.blood_pressure", 5)

    hub = run(tmp_path, scenario, follow_up_min_bp_readings=3)
    follow = hub.of("health.follow_up")
    assert len(follow) == 1  # the window after 8 days holds one reading: below the minimum
    assert follow[0].data["trend"]["bp_grade"] == "grade_2" and follow[0].data["level"] == 3
    check_schema(follow[0])


def test_sim_verbs_reject_bad_arguments(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        for verb, argv in (
            ("bp", ["80", "120"]),
            ("bp", ["abc", "80"]),
            ("glucose", ["50"]),
            ("glucose", ["HIGH"]),
            ("glucose", ["5", "--meal", "lunch"]),
        ):
            with pytest.raises(ValueError, match=f"hub sim {verb}"):
                await hub.sims[verb](argv)

    hub = run(tmp_path, scenario, paired=False)
    assert hub.events == []


def test_not_built_without_simulation_or_when_disabled(tmp_path: Path) -> None:
    config = Config(tmp_path / "h.toml", validate({"ble": {"enabled": False}}))
    real = Hardware(gpio=None, open_i2c=lambda b: None, open_serial=lambda *a, **k: None)
    assert build_sim(config, real) is None and real.ble_client_backend is None
    assert build(config, real) is None


# A GLS record as a meter showing HI / LO sends it: flags 0x07 (time offset, concentration, mol/L),
# sequence, base time 2024-03-04 09:00:00 / 09:05:00 (START in the meter's zone), offset 0, concentration
# SFLOAT +INF 0x07FE / -INF 0x0802, type 2 (capillary plasma) | location 1 (finger) << 4.
HI_RECORD = bytes.fromhex("07" "0100" "e807" "03" "04" "09" "00" "00" "0000" "fe07" "12")
LO_RECORD = bytes.fromhex("07" "0200" "e807" "03" "04" "09" "05" "00" "0000" "0208" "12")


async def settled(hub: FakeHub) -> None:
    """Until the component has finished with the last reading (it sets the management level last)."""
    for _ in range(500):
        if "management_level" in hub.status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no management_level status after 5 s")


def run_with_records(tmp_path: Path, records: list[bytes], scenario: Any = None) -> FakeHub:
    """The meter holds `records` (raw bytes) and advertises; the hub fetches them over the virtual link."""
    from hub.health.sim.glucose_meter import StoredRecord

    async def go() -> FakeHub:
        async with started(tmp_path) as (hub, sim):
            for value in records:
                sim.glucose.records.append(StoredRecord(int.from_bytes(value[1:3], "little"), value, None))
            sim.glucose.start_advertising()
            await hub.wait_for("measurement.glucose", len(records))
            if scenario is not None:
                await scenario(hub)
        return hub

    return asyncio.run(asyncio.wait_for(go(), 30))


@pytest.mark.parametrize(
    ("record", "out_of_range", "category", "reason", "prompt"),
    [
        (HI_RECORD, "high", "dangerous", "glucose_dangerous", "health_glucose_very_high"),
        (LO_RECORD, "low", "hypo_severe", "glucose_low", "health_glucose_low"),
    ],
    ids=["HI_+INF", "LO_-INF"],
)
def test_meter_showing_hi_or_lo_is_graded_and_alerted(
    tmp_path: Path, record: bytes, out_of_range: str, category: str, reason: str, prompt: str
) -> None:
    async def alerted(hub: FakeHub) -> None:
        await hub.wait_for("health.alert")
        await settled(hub)  # the trend runs after the alert: wait for it, not for a lucky schedule

    hub = run_with_records(tmp_path, [record], alerted)
    (reading,) = hub.of("measurement.glucose")
    assert reading.data["mmol_per_l"] is None and reading.data["out_of_range"] == out_of_range
    assert reading.data["category"] == category and reading.data["referral"] is True
    assert reading.data["raw"] == {"concentration": None, "unit": "mol/L"}
    assert reading.data["location"] == "finger" and reading.data["time_status"] == "ok"
    (alert,) = hub.of("health.alert")
    assert alert.data["reason"] == reason and alert.data["measurement_id"] == reading.id
    assert alert.data["values"]["out_of_range"] == out_of_range and alert.data["values"]["mmol_per_l"] is None
    assert hub.spoken == ["health_glucose_out_of_range", prompt]
    assert hub.timeline.index(("event", "measurement.glucose")) < hub.timeline.index(("event", "health.alert"))
    assert hub.status["management_level"] == "一级"  # no number for the 7-day history: not averaged
    for event in hub.events:
        check_schema(event)


def test_hi_after_an_in_range_dangerous_reading_still_alerts(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        await hub.sims["glucose"](["20.5"])
        await hub.wait_for("health.alert")
        answer = await hub.sims["glucose"](["hi", "--meal", "after"])  # the sim verb makes the +INF record
        assert answer["shows"] == "HI" and answer["sequence"] == 2
        await hub.wait_for("health.alert", 2)
        await hub.sims["glucose"](["LO"])
        await hub.wait_for("health.alert", 3)

    hub = run(tmp_path, scenario)
    readings = hub.of("measurement.glucose")
    assert [(r.data["mmol_per_l"], r.data.get("out_of_range"), r.data["category"]) for r in readings] == [
        (20.5, None, "dangerous"),
        (None, "high", "dangerous"),
        (None, "low", "hypo_severe"),
    ]
    assert readings[1].data["meal"] == "after"
    assert [a.data["reason"] for a in hub.of("health.alert")] == [
        "glucose_dangerous",
        "glucose_dangerous",
        "glucose_low",
    ]
    for event in hub.events:
        check_schema(event)
