"""The ADS1115's comparator and its ALERT/RDY line: register encoding and the chip model (one edge per
crossing, hysteresis, latch, window, polarity), then the smoke watch in a simulated hub woken by the line
instead of polling: smoke found through an edge alone, the unwired line found at start (polling instead),
and a line that lies or chatters (noise, a loose wire) neither raising an alarm nor reading without bound."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import SleepClock
from support import wait_until_async
from test_sensors_home import go, running

from drivers.ads1115 import (
    ADS1115,
    COMP_LAT,
    COMP_MODE_WINDOW,
    COMP_POL_HIGH,
    REG_CONFIG,
    REG_HI_THRESH,
    REG_LO_THRESH,
    Config,
    comparator_word,
    pga_code,
    to_signed,
    volts_to_code,
)
from drivers.fakes import FakeADS1115, FakeSMBus


def make() -> tuple[FakeADS1115, ADS1115, list[bool]]:
    clock = SleepClock()
    bus = FakeSMBus()
    chip = FakeADS1115((0.5, 0.0, 0.0, 0.0), now=clock)
    bus.attach(0x48, chip)
    edges: list[bool] = []
    chip.on_alert = edges.append
    return chip, ADS1115(bus, 0x48, sleep=clock.sleep), edges


def test_comparator_word() -> None:
    word = comparator_word(0b100, pga_code(4.096), 8, queue=2)
    assert word == 0x4201  # AIN0-GND, ±4.096 V, continuous, 8/s, traditional, active low, not latching, 2
    config = Config(word)
    assert config.comparator_on and not config.single_shot and config.data_rate == 8
    assert comparator_word(0b100, pga_code(4.096), 8, queue=4) & 3 == 0b10
    with pytest.raises(ValueError):
        comparator_word(0b100, 1, 8, queue=3)


def test_one_edge_per_crossing_with_hysteresis() -> None:
    chip, adc, edges = make()
    adc.start_comparator(0, 4.096, 8, low_v=1.0, high_v=1.5)
    assert to_signed(adc.read_register(REG_LO_THRESH)) == volts_to_code(1.0, 4.096)
    assert to_signed(adc.read_register(REG_HI_THRESH)) == volts_to_code(1.5, 4.096)
    assert edges == []  # 0.5 V: quiet
    for volts in (1.6, 1.2, 1.8, 1.1):  # over, then inside the band: asserted until below low
        chip.set_input(0, volts)
    assert edges == [True]
    chip.set_input(0, 0.9)
    assert edges == [True, False]
    assert adc.latest(4.096).volts == pytest.approx(0.9, abs=0.001)  # reading does not stop it
    chip.set_input(0, 1.7)
    assert edges == [True, False, True]


def test_single_shot_reading_stops_the_comparator() -> None:
    chip, adc, edges = make()
    adc.start_comparator(0, 4.096, 8, low_v=1.0, high_v=1.5)
    chip.set_input(0, 2.0)
    assert edges == [True]
    assert adc.read_single_ended(0, 4.096).volts == pytest.approx(2.0, abs=0.001)
    assert edges == [True, False] and not adc.read_config().comparator_on  # released until armed again


def test_latch_window_and_polarity() -> None:
    chip, adc, edges = make()
    adc.start_comparator(0, 4.096, 8, low_v=1.0, high_v=1.5)
    base = adc.read_register(REG_CONFIG) & ~0x8000
    adc.write_register(REG_CONFIG, base | COMP_LAT)
    chip.set_input(0, 1.6)
    chip.set_input(0, 0.5)
    assert edges == [True]  # latched: still low below the low threshold
    adc.latest(4.096)  # reading the conversion register clears the latch
    assert edges == [True, False]
    adc.write_register(REG_CONFIG, base | COMP_MODE_WINDOW)
    chip.set_input(0, 0.2)  # window: outside either way asserts
    assert edges == [True, False, True]
    chip.set_input(0, 1.2)
    assert edges[-1] is False
    adc.write_register(REG_CONFIG, base | COMP_POL_HIGH)  # active high: idle line low
    assert edges[-1] is True and chip.alert_low


def test_start_comparator_refuses_bad_thresholds_and_a_dead_chip() -> None:
    chip, adc, _ = make()
    with pytest.raises(ValueError):
        adc.start_comparator(0, 4.096, 8, low_v=1.5, high_v=1.0)
    chip.set_fault("nack")
    with pytest.raises(OSError):
        adc.start_comparator(0, 4.096, 8, low_v=1.0, high_v=1.5)


# --- the smoke watch in a simulated hub ------------------------------------------------------------
QUIET = {"alert_check_s": 300.0}  # no supervision reading in the test's time: only the line can wake it


def parts(run: Any) -> tuple[Any, FakeADS1115]:
    home = run.hub.component("home_sensors")
    sim = run.hub.component("sim.home")
    return home._smoke, sim.adc


async def armed(run: Any) -> tuple[Any, FakeADS1115]:
    """The comparator armed and the wiring check done: the first arming sets `sensor.armed` (a probe band)
    before it has seen whether the line asserts, so `armed` alone raced the check (alert_wired None)."""
    def done() -> tuple[Any, FakeADS1115] | None:
        smoke, chip = parts(run)
        ready = smoke is not None and smoke.sensor is not None and smoke.sensor.armed and smoke.alert_wired is not None
        return (smoke, chip) if ready else None
    return await wait_until_async(done, 5, "the smoke watch to arm the comparator")


def test_an_alert_edge_alone_finds_smoke_and_the_watch_rests_again(tmp_path: Path) -> None:
    async def body() -> None:
        async with running(tmp_path, smoke=QUIET) as run:
            smoke, chip = await armed(run)
            assert smoke.alert_wired is True
            # The wiring check's probe band asserts the line; the real band, armed next on a worker thread,
            # releases it: wait for that fact rather than read it the moment the check is done.
            await wait_until_async(lambda: not chip.alert_low, 5, "the line released after the wiring check")
            await run.sim("smoke", "on")
            fire = await run.wait(lambda e: e.type == "alarm.fire", 5.0)
            assert fire.data["source"] == "analog" and smoke.edge_wakeups >= 1
            await run.sim("smoke", "off")  # smoky: read every poll_s, so the clear comes without an edge
            await run.wait(lambda e: e.type == "alarm.fire_cleared", 5.0)
            await armed(run)
            # clean air: the line released, the watch waits on it again
            await wait_until_async(lambda: not chip.alert_low, 5, "the line released in clean air")

    go(body())


def test_an_unwired_alert_line_is_found_at_start_and_the_sensor_polled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeADS1115, "_drive_alert", lambda self: None)  # nothing on the GPIO

    async def body() -> None:
        async with running(tmp_path, smoke=QUIET) as run:
            smoke, _ = parts(run)
            await wait_until_async(lambda: smoke.alert_wired is not None, 5, "the wiring check")
            assert smoke.alert_wired is False
            await run.sim("smoke", "on")
            await run.wait(lambda e: e.type == "alarm.fire", 5.0)  # found by polling every poll_s

    go(body())


def test_a_lying_or_chattering_line_raises_nothing_and_reads_at_most_every_poll_s(tmp_path: Path) -> None:
    async def body() -> None:
        async with running(tmp_path, smoke=QUIET) as run:
            smoke, _ = await armed(run)
            chip, pin = run.hub.hardware.world.gpio, run.hub.config.data["smoke"]["alert_pin"]
            reads: list[float] = []
            read = smoke.sensor.read

            def counted() -> Any:
                reads.append(time.monotonic())
                return read()

            smoke.sensor.read = counted
            t0 = time.monotonic()
            for _ in range(200):  # noise on a long lead: edges with no smoke behind them
                chip.drive(pin, 0)
                chip.drive(pin, 1)
                await asyncio.sleep(0.002)
            await run.press_works()  # a marker: the hub has handled everything before it
            elapsed = time.monotonic() - t0
            poll = run.hub.config.data["smoke"]["poll_s"]
            assert smoke.edge_wakeups >= 1 and 1 <= len(reads) <= elapsed / poll + 2  # at most one per poll_s
            chip.drive(pin, 0)  # a line stuck low: read every poll_s, but the reading says clean air
            await asyncio.sleep(0.3)
            chip.drive(pin, 1)
            await run.press_works()
            assert run.of("alarm.fire") == [] and smoke.smoke is False

    go(body())
