"""A glucose meter whose record counter goes back (memory cleared, battery changed; issue #20 item 8): the
hub notices and keeps every record it now holds, though numbered at or below the last one it had; and
the plausibility gate judges every field of a reading, never only the headline value."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from ble_harness import BP, GLU, Harness, run
from support import HubProcess, Subscriber, online_hub

from drivers.ble import racp
from hub.health.sim.meter import Quirks
from sensors.meters.coordinator import BloodPressureReading, GlucoseReading
from sensors.meters.plausible import implausible_fields


def _mmol(h: Harness) -> list[float | None]:
    return [r.mmol_per_l for r in h.readings if isinstance(r, GlucoseReading)]


def test_a_cleared_meter_s_first_readings_are_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        for mmol in (5.6, 6.0, 6.4, 7.0, 5.9):
            meter.measure(mmol)
            h.now += timedelta(hours=6)
        assert await h.sync(GLU) == "ok"
        assert h.store.get(GLU).last_sequence == 5  # type: ignore[union-attr]
        meter.clear_memory()  # the battery changed: the counter starts again at 1
        h.now += timedelta(days=1)
        meter.measure(2.8)  # the reading the issue saw vanish
        h.now += timedelta(hours=1)
        meter.measure(6.1)
        with caplog.at_level(logging.WARNING, logger="sensors.meters.glucose"):
            assert await h.sync(GLU) == "ok"
        assert _mmol(h)[5:] == [2.8, 6.1] and h.sequences()[5:] == [1, 2]
        assert any("record counter went back" in r.message and "at or below #5" in r.message for r in caplog.records)
        assert h.store.get(GLU).last_sequence == 2  # type: ignore[union-attr]
        meter.measure(7.7)  # and on from the new counter
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-1] == racp.report_from(2) and h.sequences()[7:] == [3]

    run(go)


def test_a_counter_back_at_the_same_number_is_a_new_reading(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        for mmol in (5.6, 6.0):
            meter.measure(mmol)
            h.now += timedelta(hours=6)
        assert await h.sync(GLU) == "ok"
        meter.clear_memory()
        h.now += timedelta(days=1)
        meter.measure(3.1)
        meter.measure(8.4)  # #2 again, another reading: nothing at #3 or after
        assert await h.sync(GLU) == "ok"
        assert _mmol(h) == [5.6, 6.0, 3.1, 8.4]

    run(go)


def test_a_cleared_meter_used_more_often_than_before_loses_nothing(tmp_path: Path) -> None:
    """Its new counter has passed the old last number: only the last record, asked for again, tells."""
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        for mmol in (5.6, 6.0, 6.4):
            meter.measure(mmol)
            h.now += timedelta(hours=6)
        assert await h.sync(GLU) == "ok"
        meter.clear_memory()
        for mmol in (2.8, 4.0, 5.0, 7.5, 9.9):  # #1..#5, all new
            h.now += timedelta(hours=2)
            meter.measure(mmol)
        assert await h.sync(GLU) == "ok"
        assert _mmol(h) == [5.6, 6.0, 6.4, 2.8, 4.0, 5.0, 7.5, 9.9]  # every one, oldest first
        assert h.store.get(GLU).last_sequence == 5  # type: ignore[union-attr]

    run(go)


def test_a_meter_with_nothing_new_is_not_mistaken_for_a_cleared_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        meter.measure(5.6)
        meter.measure(6.0)
        assert await h.sync(GLU) == "ok"
        meter.start_advertising()
        with caplog.at_level(logging.WARNING, logger="sensors.meters.glucose"):
            assert await h.sync(GLU) == "no_records"
        assert meter.requests[-1] == racp.report_from(2)  # the last one again, the same reading: nothing new
        assert _mmol(h) == [5.6, 6.0] and h.store.get(GLU).last_sequence == 2  # type: ignore[union-attr]
        assert not [r for r in caplog.records if "went back" in r.message]

    run(go)


def test_an_emptied_meter_is_asked_for_everything_next_time(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        for mmol in (5.6, 6.0, 6.2):
            meter.measure(mmol)
        assert await h.sync(GLU) == "ok"
        meter.clear_memory()
        meter.start_advertising()
        assert await h.sync(GLU) == "no_records"
        assert h.store.get(GLU).last_sequence is None  # type: ignore[union-attr]
        h.now += timedelta(hours=8)
        meter.measure(4.4)  # #1: below the 3 it had before, and still kept
        assert await h.sync(GLU) == "ok"
        assert _mmol(h) == [5.6, 6.0, 6.2, 4.4]

    run(go)


def test_a_byte_swapped_pulse_and_mean_pressure_are_flagged(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        h.bp(Quirks(byte_swapped=True), name="Unknown BP").measure(128, 82, 63)
        assert await h.sync(BP) == "ok"
        (r,) = h.readings
        assert isinstance(r, BloodPressureReading)
        assert r.pulse == -256000 and "pulse" in r.implausible

    run(go)
    assert implausible_fields({"mean_arterial": 400.0}) == ("mean_arterial",)
    assert implausible_fields({"mean_arterial": 97.0, "pulse": -256000.0}) == ("pulse",)


def test_the_context_card_never_carries_an_implausible_pulse() -> None:
    from datetime import UTC, datetime

    from hub.alarms.card import ContextCard
    from hub.core.events import Event

    card = ContextCard({"hub": {"resident_ref": "R-1"}}, dict)
    data = {"graded": True, "systolic": 128, "diastolic": 82, "pulse": -256000, "grade": "normal",
            "implausible": ["pulse"]}
    card.on_event(Event("measurement.blood_pressure", data, datetime(2024, 5, 6, tzinfo=UTC)))
    assert card.bp is not None and card.bp["pulse"] is None and card.bp["systolic"] == 128


@pytest.mark.timeout(180)
def test_the_simulated_hub_restarted_keeps_the_meter_s_first_readings(
    make_hub: Callable[..., HubProcess], subscriber: Callable[..., Subscriber]
) -> None:
    """The issue's run: the simulated meter starts again at record #1 when the hub restarts (as a real one
    does after a battery change); its first readings, a 2.8 among them, must still arrive."""
    hub, sub = online_hub(make_hub, subscriber, "[voice]\nenabled = false\n")
    for mmol in ("5.6", "6.0", "6.4"):
        hub.sim("glucose", mmol)
        assert sub.wait_event("measurement.glucose", 15, mmol_per_l=float(mmol)), hub.log_tail()
    hub.stop()
    hub.start()
    hub.sim("glucose", "2.8", "--meal", "fasting")
    got = sub.wait_event("measurement.glucose", 30, mmol_per_l=2.8)
    assert got is not None, hub.log_tail()
    assert got["data"]["sequence"] == 1 and got["data"]["category"] == "hypo_severe"
    deadline = time.monotonic() + 15  # logged once the second pass is done, just after the events
    while "record counter went back" not in hub.log_tail(400):
        assert time.monotonic() < deadline, hub.log_tail()
        time.sleep(0.1)
