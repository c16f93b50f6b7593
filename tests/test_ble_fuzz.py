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
from drivers.ble.virtual import VirtualRadio
from hub.health.sim import SimBpMeter, SimGlucoseMeter
from sensors.meter_store import MeterStore
from sensors.meters import MeterCoordinator, MeterSettings, Reading, _GlucoseSession

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
def test_junk_over_the_air_is_skipped_and_good_records_still_arrive(
    tmp_path: Path, junk: list[bytes]
) -> None:
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
