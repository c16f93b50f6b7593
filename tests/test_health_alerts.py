"""Issue 12 in the health component, over the simulated meters and the virtual link: alert repeats by
severity (`repeat_of`), the pulse rule, ketone tests, failed measurements spoken and counted, values the
plausibility gate flagged, and clocks that cannot be read; every message against its schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from test_health_component import START, FakeHub, check_schema, run, settled

from drivers.ble import uuids as U


async def until(check: Any, what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not after 5 s: {what}")


def test_a_worse_reading_alerts_at_once_a_milder_one_repeats(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        for n, (s, d) in enumerate([(185, 112), (200, 125), (190, 115)], start=1):
            await hub.sims["bp"]([str(s), str(d)])
            await hub.wait_for("measurement.blood_pressure", n)
            await until(lambda n=n: hub.spoken.count("health_bp_very_high") == n, "advice spoken")
            hub.clock.advance(600)
        hub.clock.advance(3600)  # past alert_repeat_min (60) since the last alert: alerts again
        await hub.sims["bp"](["182", "111"])
        await hub.wait_for("health.alert", 3)

    hub = run(tmp_path, scenario)
    bp = hub.of("measurement.blood_pressure")
    alerts = hub.of("health.alert")
    assert [a.data["measurement_id"] for a in alerts] == [bp[0].id, bp[1].id, bp[3].id]
    assert "repeat_of" not in bp[0].data and "repeat_of" not in bp[1].data
    assert bp[2].data["repeat_of"] == {"bp_grade_3": alerts[1].id}  # 190/115 is milder than 200/125
    assert hub.spoken.count("health_bp_very_high") == 4  # the resident hears the advice every time
    for event in hub.events:
        check_schema(event)


def test_pulse_rule(tmp_path: Path) -> None:
    pulses = [35, 45, 72, 115, 140]

    async def scenario(hub: FakeHub) -> None:
        for n, pulse in enumerate(pulses, start=1):
            await hub.sims["bp"](["128", "82", "--pulse", str(pulse)])
            await hub.wait_for("measurement.blood_pressure", n)
            hub.clock.advance(300)  # the same pressures at the same meter second would be a resend
        await settled(hub)
        await hub.wait_for("health.alert", 2)

    hub = run(tmp_path, scenario)
    bp = hub.of("measurement.blood_pressure")
    assert [(b.data["pulse"], b.data["pulse_category"], b.data["pulse_follow_up"]) for b in bp] == [
        (35, "very_low", False),
        (45, "low", True),
        (72, "normal", False),
        (115, "high", True),
        (140, "very_high", False),
    ]
    assert all(b.data["grade"] == "high_normal" for b in bp)
    alerts = hub.of("health.alert")
    assert [(a.data["kind"], a.data["reason"], a.data["values"]["pulse"]) for a in alerts] == [
        ("pulse", "pulse_low", 35),
        ("pulse", "pulse_high", 140),
    ]
    # each reading is read back, the advice follows the two abnormal pulses
    assert hub.spoken == ["health_bp_reading", "health_pulse_abnormal", *["health_bp_reading"] * 4,
                          "health_pulse_abnormal"]
    for event in hub.events:
        check_schema(event)


def test_err_on_the_cuff_is_spoken_and_counted(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        answer = await hub.sims["bp"](["err"])  # what `hub sim bp ERR` does: the cuff shows Err
        assert answer["shows"] == "Err"
        await until(lambda: hub.status.get("ble_meter_errors"), "a counted meter error")
        await hub.sims["bp"](["128", "82"])
        await hub.wait_for("measurement.blood_pressure")
        await until(lambda: "health_bp_reading" in hub.spoken, "the reading read back")  # said after the event

    hub = run(tmp_path, scenario)
    (err,) = hub.status["ble_meter_errors"].values()
    assert (err["kind"], err["count"], err["problem"]) == ("bp", 1, "systolic NaN, diastolic NaN")
    assert hub.spoken == ["health_bp_meter_error", "health_bp_reading"]  # "measure again", then the reading
    assert [e.type for e in hub.events] == ["measurement.blood_pressure"]  # the failure is no reading


def test_ketone_test_from_a_caresens_meter(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        meter = hub.components["sim"].glucose
        meter.char(U.MANUFACTURER_NAME).value = b"i-SENS"  # what a CareSens meter reports (0x2A29)
        meter.measure_ketone(1.5)
        await hub.wait_for("measurement.ketone")
        meter.measure_ketone(3.4)
        await hub.wait_for("health.alert")

    hub = run(tmp_path, scenario)
    assert hub.of("measurement.glucose") == []  # 15 / 34 "mg/dL" never reach glucose grading
    k = hub.of("measurement.ketone")
    assert [(e.data["mmol_per_l"], e.data["category"], e.data["follow_up"], e.data["referral"]) for e in k] == [
        (1.5, "high", True, False),
        (3.4, "dangerous", True, True),
    ]
    assert k[0].data["meter_profile"] == "isens-caresens-ketone"
    (alert,) = hub.of("health.alert")
    assert (alert.data["kind"], alert.data["reason"], alert.data["measurement_id"]) == (
        "ketone",
        "ketone_high",
        k[1].id,
    )
    assert hub.spoken == ["health_ketone_high"]
    for event in hub.events:
        check_schema(event)


def test_implausible_glucose_is_published_flagged_and_not_graded(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        hub.components["sim"].glucose.measure(40.0)  # beyond any meter's display: a decoding fault
        await hub.wait_for("measurement.glucose")
        await settled(hub)

    hub = run(tmp_path, scenario)
    (g,) = hub.of("measurement.glucose")
    assert (g.data["mmol_per_l"], g.data["implausible"], g.data["graded"]) == (40.0, ["mmol_per_l"], False)
    assert (g.data["category"], g.data["referral"]) == (None, False)
    assert hub.of("health.alert") == [] and hub.spoken == []
    assert hub.status["management_level"] == "一级"  # not in the 7-day history either
    check_schema(g)


def test_a_clock_field_out_of_range_keeps_the_reading_at_receive_time(tmp_path: Path) -> None:
    async def scenario(hub: FakeHub) -> None:
        hub.components["sim"].bp.quirks.bad_clock = True  # stamps with minutes = 99
        await hub.sims["bp"](["150", "95"])
        await hub.wait_for("measurement.blood_pressure")

    hub = run(tmp_path, scenario)
    (bp,) = hub.of("measurement.blood_pressure")
    assert (bp.data["time_status"], bp.data["time_source"], bp.data["meter_time"]) == ("invalid", "hub", None)
    assert "minutes 99 outside 0..59" in bp.data["time_problem"] and bp.ts == START
    assert bp.data["grade"] == "grade_1"
    check_schema(bp)


def test_extra_profiles_are_used_and_a_bad_file_does_not_stop_the_hub(tmp_path: Path) -> None:
    from hub.config.loader import Config, validate
    from hub.health.component import HealthMeters

    good = tmp_path / "profiles.toml"
    good.write_text(
        '[[profile]]\nid = "home-meter"\nkind = "bp"\nmatch = { name = ["SIM-BP"] }\n'
        'big_endian = ["pulse"]\nsource = "captured at the home visit, 2026-11-30"\n',
        encoding="utf-8",
    )

    def component(path: Path) -> HealthMeters:
        cfg = validate({"hub": {"state_dir": str(tmp_path)}, "ble": {"extra_profiles": str(path)}})
        return HealthMeters(Config(tmp_path / "hub.toml", cfg))

    health = component(good)
    assert [p.id for p in health.profiles][:2] == ["home-meter", "beurer-bm-byte-swapped"]
    assert health.profiles_error is None
    good.write_text('[[profile]]\nid = "x"\nkind = "scale"\n', encoding="utf-8")
    health = component(good)
    assert health.profiles[0].id == "beurer-bm-byte-swapped"
    assert health.profiles_error is not None and "profiles.toml" in health.profiles_error
