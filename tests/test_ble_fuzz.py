"""Fuzzed characteristic values never raise out of the BLE task: logged, skipped, transfer goes on."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ble import uuids as U
from drivers.ble.virtual.radio import VirtualRadio
from hub.health.sim.bp_meter import SimBpMeter
from hub.health.sim.glucose_meter import SimGlucoseMeter
from sensors.meters.coordinator import MeterCoordinator, MeterSettings, Reading, _GlucoseSession
from sensors.meters.store import MeterStore

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


@given(st.lists(st.binary(max_size=30), max_size=20))
def test_session_callbacks_swallow_any_bytes(values: list[bytes]) -> None:
    async def go() -> None:
        s = _GlucoseSession("AA", lambda: T0, asyncio.get_running_loop())
        for v in values:
            s.on_measurement(None, bytearray(v))
            s.on_context(None, bytearray(v))
            s.on_racp(None, bytearray(v))

    asyncio.run(go())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(st.binary(max_size=24), min_size=1, max_size=4))
def test_junk_over_the_air_is_skipped_and_good_records_still_arrive(tmp_path: Path, junk: list[bytes]) -> None:
    async def go() -> tuple[str, str, list[Reading]]:
        radio = VirtualRadio()
        store = MeterStore(":memory:")
        got: list[Reading] = []

        async def on_reading(r: Reading) -> None:
            got.append(r)

        coordinator = MeterCoordinator(
            store,
            on_reading,
            tz=UTC,
            now=lambda: T0,
            settings=MeterSettings(racp_timeout_s=0.3, bp_idle_s=0.1),
            client_backend=radio.client_backend,
        )
        glucose = SimGlucoseMeter("AA:00:00:00:00:02", lambda: T0.replace(tzinfo=None))
        bp = SimBpMeter("AA:00:00:00:00:01", lambda: T0.replace(tzinfo=None))
        for meter, kind in ((glucose, "glucose"), (bp, "bp")):
            radio.add(meter)
            radio.bond(meter.address)
            store.pair(meter.address, kind, meter.name, T0)
        glucose.measure(5.5)
        real_send = glucose._send

        async def send_with_junk(link, record):  # type: ignore[no-untyped-def]
            for value in junk:
                await link.send(U.GLUCOSE_MEASUREMENT, value)
                await link.send(U.GLUCOSE_MEASUREMENT_CONTEXT, value)
            await real_send(link, record)

        glucose._send = send_with_junk  # type: ignore[method-assign]
        bp.pending.extend(junk)
        bp.measure(130, 85)
        g = await coordinator.sync(glucose.address, store.get(glucose.address))  # type: ignore[arg-type]
        b = await coordinator.sync(bp.address, store.get(bp.address))  # type: ignore[arg-type]
        return g, b, got

    logging.disable(logging.WARNING)
    try:
        g, b, got = asyncio.run(asyncio.wait_for(go(), 10))
    finally:
        logging.disable(logging.NOTSET)
    assert (g, b) == ("ok", "ok")
    # Junk that happens to be a valid record may add readings; the real ones always arrive.
    assert any(getattr(r, "mmol_per_l", None) == 5.5 for r in got)
    assert any(getattr(r, "systolic_mmhg", None) == 130 for r in got)


def test_bad_value_is_logged_with_its_bytes(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        s = _GlucoseSession("AA:00:00:00:00:02", lambda: T0, asyncio.get_running_loop())
        s.on_measurement(None, bytearray(b"\x1b\x01"))

    with caplog.at_level(logging.WARNING):
        asyncio.run(go())
    assert "sequence at byte 1" in caplog.text and "1b01" in caplog.text


# ------------------------------------------------------------------ through the meter session, graded
# Issue 12: every decoder fuzzed through the download (sim meter -> virtual link -> bleak -> session ->
# readings), with each quirk profile, and the readings through the grading: nothing escapes, and no
# implausible value is ever graded or alerted.

PROFILED = [  # (manufacturer, advertised name) -> the profile the hub picks
    ("Eldercare Sim", "SIM"),  # spec
    ("Beurer", "BM85"),  # byte-swapped pulse/status, user id inferred
    ("i-SENS", "CareSens"),  # ketone marker
    ("TaiDoc", "DM30b"),  # backwards numbering, all/first
    ("Roche", "Accu-Chek"),  # clock via Date Time
]
OUTCOMES = {"ok", "no_records", "lost", "timeout", "racp_error", "odd_answer"}
words = st.binary(min_size=2, max_size=2)
bp_value = st.builds(
    lambda flags, body, tail: bytes([flags]) + body + tail,
    st.integers(0, 255),
    st.binary(min_size=6, max_size=6),
    st.binary(max_size=16),
)
glucose_value = st.builds(
    lambda flags, seq, stamp, tail: bytes([flags]) + seq + stamp + tail,
    st.integers(0, 255),
    words,
    st.one_of(st.binary(min_size=7, max_size=7), st.just(bytes.fromhex("0f270c1f173b3b"))),
    st.binary(max_size=10),
)


def assert_nothing_implausible_graded(readings: list[Reading]) -> None:
    from hub.health import measurements
    from hub.health.grading import Thresholds
    from hub.health.vitals import VitalLines
    from sensors.meters.plausible import RANGES
    from sensors.meters.readings import BloodPressureReading, GlucoseReading, KetoneReading

    def inside(name: str, value: float | None) -> bool:
        return value is not None and RANGES[name][0] <= value <= RANGES[name][1]

    for r in readings:
        if isinstance(r, BloodPressureReading):
            g = measurements.blood_pressure(r, Thresholds(), VitalLines())
            if g.data["grade"] is not None or g.history is not None:
                assert inside("systolic", r.systolic_mmhg) and inside("diastolic", r.diastolic_mmhg)
            if g.data["pulse_category"] is not None:
                assert inside("pulse", r.pulse)
            for reason, values in g.alerts:
                assert inside("pulse", values["pulse"]) if reason.startswith("pulse") else g.data["graded"]
        elif isinstance(r, GlucoseReading):
            g = measurements.glucose(r, Thresholds())
            if g.data["category"] is not None:
                assert r.out_of_range is not None or inside("mmol_per_l", r.mmol_per_l)
            assert not g.alerts or g.data["graded"]
        elif isinstance(r, KetoneReading):
            g = measurements.ketone(r, VitalLines())
            if g.data["category"] is not None:
                assert inside("ketone_mmol_per_l", r.mmol_per_l)
            assert not g.alerts or g.data["graded"]


def fuzz_download(
    who: tuple[str, str],
    kind: str,
    values: list[bytes],
    contexts: list[bytes],
    racp_junk: list[bytes],
    feature: bytes | None = None,
) -> tuple[str, list[Reading]]:
    from ble_harness import BP, GLU, Harness

    from hub.health.sim.glucose_meter import StoredRecord
    from hub.health.sim.meter import Quirks

    async def go() -> tuple[str, list[Reading]]:
        h = Harness(":memory:", racp_timeout_s=0.3, bp_idle_s=0.1)
        quirks = Quirks(manufacturer=who[0])
        if kind == "bp":
            meter = h.bp(quirks, name=who[1])
            if feature is not None:  # the Blood Pressure Feature the hub reads is fuzzed too
                meter.char(U.BLOOD_PRESSURE_FEATURE).value = feature
            meter.pending.extend(values)
            meter.measure(130, 85, 72)
            return await h.sync(BP), h.readings
        gm = h.glucose(quirks, name=who[1])
        if feature is not None:
            gm.char(U.GLUCOSE_FEATURE).value = feature
        for i, value in enumerate(values):
            seq = int.from_bytes(value[1:3], "little") if len(value) >= 3 else i
            gm.records.append(StoredRecord(seq, value, contexts[i] if i < len(contexts) else None))
        gm.start_advertising()
        real_finish = gm._finish

        async def finish_after_junk(link, response):  # type: ignore[no-untyped-def]
            for junk in racp_junk:
                await link.send(U.RECORD_ACCESS_CONTROL_POINT, junk)
            await real_finish(link, response)

        gm._finish = finish_after_junk  # type: ignore[method-assign]
        return await h.sync(GLU), h.readings

    # A callback that raises is only logged by the backend (as BlueZ's is): catch that as a failure too.
    escaped: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = escaped.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    logging.disable(logging.WARNING)
    try:
        result = asyncio.run(asyncio.wait_for(go(), 20))
    finally:
        logging.disable(logging.NOTSET)
        logging.getLogger().removeHandler(handler)
    assert not escaped, [r.getMessage() for r in escaped]
    return result


@settings(max_examples=40, deadline=None)
@given(
    who=st.sampled_from(PROFILED),
    values=st.lists(st.one_of(bp_value, st.binary(max_size=24)), max_size=5),
    feature=st.one_of(st.none(), st.binary(max_size=3)),
)
def test_fuzzed_bp_values_through_the_session_never_escape_nor_grade_implausible(
    who: tuple[str, str], values: list[bytes], feature: bytes | None
) -> None:
    outcome, readings = fuzz_download(who, "bp", values, [], [], feature)
    assert outcome in OUTCOMES
    assert_nothing_implausible_graded(readings)


@settings(max_examples=40, deadline=None)
@given(
    who=st.sampled_from(PROFILED),
    values=st.lists(st.one_of(glucose_value, st.binary(max_size=20)), max_size=5),
    contexts=st.lists(
        st.one_of(st.binary(max_size=12), st.builds(lambda s, m: b"\x02" + s + bytes([m]), words, st.integers(0, 15))),
        max_size=5,
    ),
    racp_junk=st.lists(st.binary(max_size=6), max_size=2),
    feature=st.one_of(st.none(), st.binary(max_size=3)),
)
def test_fuzzed_glucose_values_through_the_session_never_escape_nor_grade_implausible(
    who: tuple[str, str], values: list[bytes], contexts: list[bytes], racp_junk: list[bytes], feature: bytes | None
) -> None:
    outcome, readings = fuzz_download(who, "glucose", values, contexts, racp_junk, feature)
    assert outcome in OUTCOMES
    assert_nothing_implausible_graded(readings)


def test_the_overflow_record_goes_through_the_session() -> None:
    # issue 12: 0101000f270c1f173b3b0100 raised OverflowError out of the BLE task
    outcome, readings = fuzz_download(PROFILED[0], "glucose", [bytes.fromhex("0101000f270c1f173b3b0100")], [], [])
    assert outcome == "ok" and readings == []  # no concentration: nothing to grade, and nothing raised
