"""The meter coordinator against simulated meters on the virtual bleak backend (bleak's real API)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ble_harness import BP, GLU, Harness, run

from drivers.ble import racp
from hub.health.sim.glucose_meter import SimGlucoseMeter
from hub.health.sim.meter import Quirks
from sensors.meters.coordinator import BloodPressureReading, GlucoseReading
from sensors.meters.readings import MeterErrorReading


def test_first_contact_downloads_all_then_only_new(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        for mmol, meal in ((5.6, "fasting"), (9.8, "after"), (6.1, None)):
            meter.measure(mmol, meal)
            h.now += timedelta(hours=3)
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-1] == racp.report_all()
        assert h.sequences() == [1, 2, 3]
        assert [r.meal for r in h.readings if isinstance(r, GlucoseReading)] == ["fasting", "after", None]
        assert h.store.get(GLU).last_sequence == 3  # type: ignore[union-attr]
        meter.measure(4.2, "before")
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-1] == racp.report_from(3)  # from the last one had: did the counter go on?
        assert h.sequences() == [1, 2, 3, 4]
        assert await h.sync(GLU) == "connect_failed"  # not advertising: nothing new to say
        meter.start_advertising()
        assert await h.sync(GLU) == "no_records"
        assert h.sequences() == [1, 2, 3, 4]

    run(go)


def test_disconnect_mid_transfer_yields_every_record_exactly_once(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(drop_after=3))
        for i in range(7):
            meter.measure(5.0 + i / 10, "fasting" if i % 2 else None)
        assert await h.sync(GLU) == "lost"
        # Issue 12: the next visit resumes after the last record handed over (was: None until success).
        assert h.store.get(GLU).last_sequence == 3  # type: ignore[union-attr]
        assert len(h.readings) == 3
        assert meter.advertising  # the meter comes back
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-1] == racp.report_from(3)
        assert sorted(h.sequences()) == list(range(1, 8))
        assert len(h.sequences()) == len(set(h.sequences())) == 7
        assert h.store.get(GLU).last_sequence == 7  # type: ignore[union-attr]

    run(go)


def test_unbonded_link_is_refused_with_insufficient_authentication(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(requires_bonding=True), bond=False)
        meter.measure(6.0)
        assert await h.sync(GLU) == "needs_bonding"
        assert h.readings == []
        h.radio.bond(GLU)
        meter.start_advertising()
        assert await h.sync(GLU) == "ok"
        assert h.sequences() == [1]

    run(go)


def test_meter_pushing_on_subscription_is_not_doubled(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(push_on_subscribe=True))
        meter.measure(5.5, "fasting")
        meter.measure(7.5, "after")
        assert await h.sync(GLU) == "ok"
        assert meter.sent_total == 4  # pushed twice over the air (subscription + RACP)...
        assert h.sequences() == [1, 2]  # ...handed over once

    run(go)


def test_reversed_sequence_numbers_fall_back_to_all_records_and_dedup(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(reversed_sequence=True))
        meter.measure(5.0)
        h.now += timedelta(minutes=30)
        meter.measure(6.0)
        assert await h.sync(GLU) == "ok"
        assert h.store.get(GLU).reversed  # type: ignore[union-attr]
        h.now += timedelta(minutes=30)
        meter.measure(7.0)
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-1] == racp.report_all()
        assert [r.mmol_per_l for r in h.readings if isinstance(r, GlucoseReading)] == [5.0, 6.0, 7.0]

    run(go)


def test_year0_clock_is_flagged_then_fixed_by_the_time_write(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(year0_clock=True))
        meter.measure(5.2)
        assert await h.sync(GLU) == "ok"
        first = h.readings[0]
        assert first.time_status == "unset" and first.meter_time is None
        assert meter.clock_offset == 0.0  # the hub wrote Current Time on connect
        meter.measure(5.3)
        assert await h.sync(GLU) == "ok"
        assert h.readings[1].time_status == "ok" and h.readings[1].meter_time == h.now

    run(go)


def test_racp_timeout_aborts_and_keeps_the_sequence(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        meter.measure(5.0)

        async def silent(link: Any, data: bytes) -> None:
            meter.requests.append(data)

        meter.char("00002a52-0000-1000-8000-00805f9b34fb").on_write = silent
        assert await h.sync(GLU) == "timeout"
        assert meter.requests[-1] == racp.abort()
        assert h.store.get(GLU).last_sequence is None  # type: ignore[union-attr]

    run(go)


def test_meter_without_sequence_filter_gets_all_records(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        meter.measure(5.0)
        assert await h.sync(GLU) == "ok"
        original = meter._select

        def no_filter(request: racp.RacpRequest) -> Any:
            if request.operator == racp.Operator.GREATER_THAN_OR_EQUAL_TO:
                return racp.ResponseCode.OPERATOR_NOT_SUPPORTED
            return original(request)

        meter._select = no_filter  # type: ignore[method-assign]
        meter.measure(6.0)
        assert await h.sync(GLU) == "ok"
        assert meter.requests[-2:] == [racp.report_from(1), racp.report_all()]
        assert h.sequences() == [1, 2]

    run(go)


def test_control_solution_is_discarded(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        meter.measure(6.5, control_solution=True)
        meter.measure(5.5)
        assert await h.sync(GLU) == "ok"
        assert h.sequences() == [2]
        assert h.store.get(GLU).last_sequence == 2  # type: ignore[union-attr]

    run(go)


@pytest.mark.parametrize("drop_after", [None, 1])
def test_blood_pressure_indications_survive_a_drop(tmp_path: Path, drop_after: int | None) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.bp(Quirks(drop_after=drop_after))
        for sys_ in (128, 150, 185):
            meter.measure(sys_, 80, pulse=70)
            h.now += timedelta(minutes=5)
        assert await h.sync(BP) == "ok"
        if drop_after is not None:
            assert len(h.readings) == 1 and meter.advertising
            assert await h.sync(BP) == "ok"
        bp = [r for r in h.readings if isinstance(r, BloodPressureReading)]
        assert [r.systolic_mmhg for r in bp] == [128, 150, 185]
        assert bp[0].pulse == 70 and bp[0].time_status == "ok" and bp[0].unit == "mmHg"
        assert meter.pending == [] and meter.link is None  # the meter hung up after sending

    run(go)


def test_resent_blood_pressure_reading_is_not_doubled(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.bp()
        value = meter.measure(140, 90)
        assert await h.sync(BP) == "ok"
        meter.pending.append(value)  # a meter that lost our confirmation sends it again
        meter.start_advertising()
        assert await h.sync(BP) == "ok"
        assert len(h.readings) == 1

    run(go)


def test_scanning_loop_connects_when_a_paired_meter_advertises(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path, cooldown_s=0.0, rescan_s=0.05)
        meter = h.glucose()
        stranger = SimGlucoseMeter("AA:00:00:00:00:99", h.local)
        h.radio.add(stranger)
        stranger.measure(9.9)  # advertises, but is not paired: ignored
        task = asyncio.create_task(h.coordinator.run())
        try:
            meter.measure(5.7, "fasting")
            while len(h.readings) < 1:
                await asyncio.sleep(0.02)
            meter.measure(6.3)
            while len(h.readings) < 2:
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
        assert h.sequences() == [1, 2]
        assert stranger.requests == []

    run(go)


def _glucose_record(sequence: int, concentration: bytes) -> bytes:
    """A GLS record with the given concentration SFLOAT bytes: flags 0x06 (concentration in mol/L),
    base time 2024-05-06 08:00:00 (T0), type capillary plasma, location finger."""
    return bytes([0x06]) + sequence.to_bytes(2, "little") + bytes.fromhex("e80705060800" "00") + concentration + b"\x12"


@pytest.mark.parametrize(
    ("sfloat", "out_of_range"),
    [("fe07", "high"), ("0208", "low"), ("ff07", None), ("0008", None), ("0108", None)],
    ids=["+INF", "-INF", "NaN", "NRes", "reserved"],
)
def test_glucose_beyond_the_meters_range_is_kept_and_no_value_is_skipped(
    tmp_path: Path, sfloat: str, out_of_range: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    from hub.health.sim.glucose_meter import StoredRecord

    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose()
        meter.records.append(StoredRecord(1, _glucose_record(1, bytes.fromhex(sfloat)), None))
        meter.start_advertising()
        assert await h.sync(GLU) == "ok"
        if out_of_range is None:  # issue 12: a failed measurement is a meter error, not silence
            (err,) = h.readings
            assert isinstance(err, MeterErrorReading) and err.kind == "glucose" and err.fresh
            assert "has no usable value" in caplog.text
        else:
            (r,) = h.readings
            assert isinstance(r, GlucoseReading)
            assert (r.mmol_per_l, r.out_of_range, r.concentration, r.unit) == (None, out_of_range, None, "mol/L")
            assert r.time_status == "ok" and r.location == "finger"
        assert h.store.get(GLU).last_sequence == 1  # type: ignore[union-attr]  # handled either way

    run(go)


@pytest.mark.parametrize(("systolic", "diastolic"), [("fe07", "5a00"), ("8c00", "0208"), ("fe07", "fe07")])
def test_blood_pressure_beyond_the_meters_range_is_a_fault_not_a_reading(
    tmp_path: Path, systolic: str, diastolic: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.bp()
        # flags 0 (mmHg, no stamp, pulse, user or status); mean arterial NaN
        meter.pending.append(bytes.fromhex("00" + systolic + diastolic + "ff07"))
        meter.measure(128, 82)  # the next reading on the same link still comes through
        assert await h.sync(BP) == "ok"
        bp = [r for r in h.readings if isinstance(r, BloodPressureReading)]
        assert [(r.systolic_mmhg, r.diastolic_mmhg) for r in bp] == [(128, 82)]
        # issue 12: the failed measurement reaches the hub as a meter error (spoken, counted)
        (err,) = [r for r in h.readings if isinstance(r, MeterErrorReading)]
        assert err.kind == "bp" and err.value_hex.startswith("00" + systolic + diastolic)

    caplog.set_level("WARNING")
    run(go)
    assert "血压计测量出错" in caplog.text


def test_a_meter_paired_by_another_process_is_heard_without_rereading_an_unchanged_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paired list is read again (a worker thread's wake-up) only when the store's files change:
    `hub ble pair` commits from its own process while the hub scans."""
    import sensors.meters.store as meter_store
    from sensors.meters.store import MeterStore

    monkeypatch.setattr(meter_store, "RELOOK", 10**9)  # no periodic safety-net re-read: the stamp alone

    async def go() -> None:
        h = Harness(tmp_path, cooldown_s=0.0, rescan_s=0.05)
        meter = SimGlucoseMeter(GLU, h.local, name="SIM-GLU")
        h.radio.add(meter)
        h.radio.bond(GLU)
        reads, looks = [0], [0]
        store_meters, stamp = h.store.meters, h.coordinator._files_stamp

        def counted_meters() -> Any:
            reads[0] += 1
            return store_meters()

        def counted_stamp() -> Any:
            looks[0] += 1
            return stamp()

        monkeypatch.setattr(h.store, "meters", counted_meters)
        monkeypatch.setattr(h.coordinator, "_files_stamp", counted_stamp)
        meter.measure(5.7, "fasting")  # advertising, not paired yet: ignored
        task = asyncio.create_task(h.coordinator.run())
        try:
            while looks[0] < 6:  # the scanner has looked at the files several times
                await asyncio.sleep(0.02)
            assert reads[0] == 1  # once at the start; the unchanged files were not read again
            with MeterStore(tmp_path / "meters.sqlite") as other:  # as `hub ble pair` does
                other.pair(GLU, "glucose", "SIM-GLU", h.now)
            while len(h.readings) < 1:
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
        assert h.sequences() == [1]

    run(go)
