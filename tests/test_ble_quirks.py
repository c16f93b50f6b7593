"""Meters as they really are (issue 12): byte tables for each class of trouble, one example per quirk
from a public source (cited at the case), and each simulated quirk downloading end to end through the
coordinator, bleak's API and the virtual backend.

Sources cited below:
- [BPM-80]   derdilla/blood-pressure-monitor-fl issue #80: a cuff showing "Err" / "Err CUF" sends NaN.
- [BPM-735]  derdilla/blood-pressure-monitor-fl PR #735 / #737: Beurer BM85 sends pulse and measurement
             status byte-swapped; the status flags sit in the second byte.
- [xDrip]    NightscoutFoundation/xDrip BluetoothGlucoseMeter.java, glucosemeter/caresens/ContextRx.java,
             GlucoseReadingRx.asKetone: Roche takes its clock via Date Time 0x2A08; TaiDoc (Diamond Mobile
             Mini) numbers records backwards and has no clock access; i-SENS (CareSens) marks ketone
             tests with meal code 6, value in mg/dL / 10 = mmol/L.
- [Tidepool] tidepool-org/uploader PR #1040: CareSens Dual ketones stored as glucose.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ble_harness import BP, GLU, Harness, run

from drivers.ble import bps, gls, parse_hex, racp
from drivers.ble.sfloat import Special
from hub.health.sim.meter import Quirks
from sensors.meters.profiles import Profile, ProfileError, load, table
from sensors.meters.readings import BloodPressureReading, GlucoseReading, KetoneReading, MeterErrorReading

BEURER = {p.id: p for p in table()}["beurer-bm-byte-swapped"]


# ---------------------------------------------------------------- byte tables


@pytest.mark.parametrize(
    ("value", "time_problem"),
    [
        # The crash of issue 12: base 9999-12-31 23:59:59 + 1 min raised OverflowError in time().
        ("0101000f270c1f173b3b0100", "beyond year 9999"),
        ("0001000f270c1f173b3b", None),  # the same stamp without the offset is a time
        ("000100e807021e0800 00".replace(" ", ""), "not a calendar date"),  # 30 February
        ("000100e8070506086300", "base_time.minutes 99 outside 0..59"),
        ("0001000000000008090a", None),  # year 0: unset, no problem to report
    ],
)
def test_glucose_time_never_raises(value: str, time_problem: str | None) -> None:
    m = gls.decode_measurement(parse_hex(value))
    if time_problem is None:
        assert m.time_problem is None
    else:
        assert m.time() is None and time_problem in (m.time_problem or "")
        assert time_problem in m.to_json()["time_problem"]


@pytest.mark.parametrize(
    ("value", "big_endian", "infer", "pulse", "user_id", "status_raw"),
    [
        # [BPM-735] BM85: pulse 72 as 00 48, status "irregular pulse" in the second byte (00 04).
        ("1e b900 7000 8800 e8070506080000 0048 01 0004", BEURER.big_endian, True, 72, 1, 0x0004),
        # the same bytes read by the spec: the pulse becomes -20480000 (the gate flags it, see below)
        ("1e b900 7000 8800 e8070506080000 0048 01 0004", frozenset(), False, -20480000, 1, 0x0400),
        # issue 12 captures: reserved flag bits set, user-ID byte sent without its flag
        ("f6 b900 7000 8800 e8070506080000 0048 01 0004", BEURER.big_endian, True, 72, 1, 0x0004),
        ("16 8200 5200 6200 e8070506080000 3f00 02 0000", frozenset(), True, 63, 2, 0),
        # without the byte the flags are trusted: no user id
        ("16 8200 5200 6200 e8070506080000 3f00 0000", frozenset(), True, 63, None, 0),
    ],
)
def test_bp_byte_order_and_flags_by_profile(
    value: str, big_endian: frozenset[str], infer: bool, pulse: float, user_id: int | None, status_raw: int
) -> None:
    m = bps.decode_measurement(parse_hex(value), big_endian=big_endian, infer_user_id=infer)
    assert (m.pulse, m.user_id) == (pulse, user_id)
    assert m.status is not None and m.status.raw == status_raw


def test_err_cuff_capture_decodes_to_nan() -> None:
    # [BPM-80] "Err" (movement) from a meter: flags 0x16, NaN pressures and pulse, 2024-06-23 14:35:10
    m = bps.decode_measurement(bytes([22, 255, 7, 255, 7, 255, 7, 232, 7, 6, 23, 14, 35, 10, 255, 7, 0, 0]))
    assert (m.systolic, m.diastolic, m.pulse) == (Special.NAN, Special.NAN, Special.NAN)
    assert m.timestamp is not None and m.timestamp.iso() == "2024-06-23T14:35:10"


@pytest.mark.parametrize(
    ("wire", "odd", "code"),
    [("06000101", False, 1), ("06010101", True, 1), ("06020106", True, 6), ("05010300", True, None)],
)
def test_racp_response_with_a_non_null_operator_is_read_leniently(wire: str, odd: bool, code: int | None) -> None:
    r = racp.decode_response(bytes.fromhex(wire), strict=False)
    assert (r.odd, r.response_code) == (odd, code)


def test_profile_table_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('[[profile]]\nid = "x"\nkind = "bp"\nmatch = { name = ["X"] }\nsource = "s"\nracp = ["every"]\n')
    with pytest.raises(ProfileError, match=r"p.toml \[\[profile\]\] #1 \(x\): racp"):
        load(bad)
    bad.write_text('[[profile]]\nid = "x"\nkind = "bp"\nmatch = { name = ["X"] }\n')
    with pytest.raises(ProfileError, match="source: missing"):
        load(bad)
    assert all(p.source for p in table())


# ---------------------------------------------------------------- end to end, one quirk at a time


def extra(**fields: object) -> list[Profile]:
    """A test-local profile (as an installer's extra_profiles file would add) before the built-in ones."""
    return [Profile(id="test", match={"name": ["QUIRKY"]}, **fields), *table()]  # type: ignore[arg-type]


def test_beurer_bm85_byte_swapped_reading_arrives_right(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.bp(Quirks(byte_swapped=True, user_id_without_flag=True, reserved_flags=True), name="BM85")
        meter.measure(185, 112, 72, status=0x0004)
        assert await h.sync(BP) == "ok"
        (r,) = h.readings
        assert isinstance(r, BloodPressureReading) and r.profile == "beurer-bm-byte-swapped"
        assert (r.pulse, r.user_id, r.implausible) == (72, 1, ())
        assert r.status is not None and r.status["irregular_pulse"] is True
        assert h.coordinator.last_profile[BP] == "beurer-bm-byte-swapped"

    run(go)


def test_byte_swapped_meter_without_its_profile_is_flagged_not_graded(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        h.bp(Quirks(byte_swapped=True), name="Unknown BP").measure(128, 82, 63)
        assert await h.sync(BP) == "ok"
        (r,) = h.readings
        assert isinstance(r, BloodPressureReading) and r.profile == "spec"
        assert r.pulse == -256000 and r.implausible == ("pulse",)  # the number issue 12 saw

    run(go)


def test_err_cuff_is_a_meter_error(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.bp()
        meter.measure_error()
        meter.measure(128, 82, 70)
        assert await h.sync(BP) == "ok"
        err, ok = h.readings
        assert isinstance(err, MeterErrorReading) and err.kind == "bp" and err.fresh
        assert err.problem == "systolic NaN, diastolic NaN"
        assert isinstance(ok, BloodPressureReading) and ok.systolic_mmhg == 128

    run(go)


@pytest.mark.parametrize(
    ("quirks", "status", "problem"),
    [
        (Quirks(bad_clock=True), "invalid", "minutes 99 outside 0..59"),
        (Quirks(year0_clock=True), "unset", None),
    ],
)
def test_bad_clock_keeps_the_reading_at_receive_time(
    tmp_path: Path, quirks: Quirks, status: str, problem: str | None
) -> None:
    async def go() -> None:
        h = Harness(tmp_path, write_time=False)
        h.glucose(quirks).measure(6.2)
        h.bp(quirks).measure(130, 85, 70)
        assert await h.sync(GLU) == "ok" and await h.sync(BP) == "ok"
        for r in h.readings:
            assert isinstance(r, GlucoseReading | BloodPressureReading)
            assert (r.time_status, r.meter_time, r.implausible) == (status, None, ())
            assert problem is None or problem in (r.time_problem or "")

    run(go)


def test_utc_clock_with_a_utc_profile_is_placed_in_local_time(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path, tz=ZoneInfo("Asia/Shanghai"), profiles=extra(kind="glucose", time_base="utc"))
        h.glucose(Quirks(utc_clock=True), name="QUIRKY-GLU").measure(5.5)
        assert await h.sync(GLU) == "ok"
        (r,) = h.readings
        assert isinstance(r, GlucoseReading) and r.time_status == "ok" and r.meter_time is not None
        assert r.meter_time == h.now.replace(microsecond=0)  # same instant, in the hub's zone

    run(go)


@pytest.mark.parametrize(
    ("quirks", "profile", "requests"),
    [
        (Quirks(racp_operator=True), {}, ["0101"]),
        # "all records" ignored: the hub aborts and asks "records >= 0" instead
        (Quirks(racp_ignores_all=True), {}, ["0101", "0300", "0103010000"]),
        (Quirks(racp_first_last_only=True), {"racp": ("all", "last")}, ["0101", "0106"]),
        (Quirks(racp_odd_answer=True), {}, ["0101"]),
        (Quirks(reversed_sequence=True, manufacturer="TaiDoc"), None, ["0101"]),
    ],
    ids=["non_null_operator", "ignores_all", "first_last_only", "odd_answer", "taidoc_backwards"],
)
def test_racp_quirks_complete_a_download(
    tmp_path: Path, quirks: Quirks, profile: dict[str, object] | None, requests: list[str]
) -> None:
    async def go() -> None:
        h = Harness(tmp_path, profiles=None if profile is None else extra(kind="glucose", **profile))
        meter = h.glucose(quirks, name="QUIRKY-GLU")
        for mmol in (5.1, 6.2):
            meter.measure(mmol)
            h.now += timedelta(minutes=5)
        outcome = await h.sync(GLU)
        assert outcome == "ok", outcome
        assert [q.hex() for q in meter.requests] == requests
        got = [r.mmol_per_l for r in h.readings if isinstance(r, GlucoseReading)]
        assert got == ([6.2] if requests[-1] == "0106" else [5.1, 6.2])

    run(go)


def test_taidoc_profile_never_writes_the_clock_and_asks_for_all(tmp_path: Path) -> None:
    # [xDrip] Diamond Mobile Mini (TaiDoc): reversed sequence numbers, no clock access
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(reversed_sequence=True, manufacturer="TaiDoc"))
        meter.measure(5.0)
        assert await h.sync(GLU) == "ok"
        meter.measure(7.0)
        assert await h.sync(GLU) == "ok"
        assert meter.clock_writes == [] and [q.hex() for q in meter.requests] == ["0101", "0101"]
        assert h.sequences() == [0xFFFF, 0xFFFE]

    run(go)


@pytest.mark.parametrize(("manufacturer", "via"), [("Roche", "date_time"), ("Eldercare Sim", "current_time")])
def test_clock_is_written_where_the_profile_says(tmp_path: Path, manufacturer: str, via: str) -> None:
    # [xDrip] Roche (Accu-Chek Aviva Connect) takes its clock through Date Time 0x2A08
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(manufacturer=manufacturer))
        meter.measure(5.0)
        assert await h.sync(GLU) == "ok"
        assert meter.clock_writes == [via]

    run(go)


def test_caresens_ketone_test_is_a_ketone_reading_never_glucose(tmp_path: Path) -> None:
    # [xDrip] ContextRx.ketone (meal code 6), GlucoseReadingRx.asKetone (mg/dL / 10); [Tidepool] PR #1040
    async def go() -> None:
        h = Harness(tmp_path)
        meter = h.glucose(Quirks(manufacturer="i-SENS"))
        meter.measure(6.0, "fasting")
        meter.measure_ketone(1.5)  # on the wire: 15 mg/dL glucose, graded hypo_severe if read as glucose
        assert await h.sync(GLU) == "ok"
        glucose, ketone = h.readings
        assert isinstance(glucose, GlucoseReading) and glucose.mmol_per_l == 6.0
        assert isinstance(ketone, KetoneReading) and ketone.mmol_per_l == 1.5 and ketone.sequence == 2
        assert ketone.profile == "isens-caresens-ketone" and ketone.implausible == ()
        assert h.store.get(GLU).last_sequence == 2  # type: ignore[union-attr]

    run(go)


def test_a_meter_that_never_answers_does_not_hold_up_the_others(tmp_path: Path) -> None:
    async def go() -> None:
        h = Harness(tmp_path, racp_timeout_s=30, download_max_s=0.5, cooldown_s=0, backoff_min_s=5)
        h.glucose(Quirks(racp_silent=True)).measure(5.5)
        h.bp().measure(128, 82, 70)
        runner = asyncio.ensure_future(h.coordinator.run())
        try:
            while not (
                any(isinstance(r, BloodPressureReading) for r in h.readings) and GLU in h.coordinator.last_outcome
            ):
                await asyncio.sleep(0.02)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        # the silent meter's visit was cut at download_max_s; the BP meter was served all the same
        assert h.coordinator.last_outcome[GLU] == "too_long"

    run(go)


@pytest.mark.parametrize(
    ("time_base", "offset_min", "expected_shift_min"),
    [
        ("local", 0, 0),  # the spec: base + offset is local wall time
        ("local", 30, 30),
        ("local_ignore_offset", 480, 0),  # the base is already local: adding its zone offset double-counts
    ],
)
def test_time_base_by_profile(tmp_path: Path, time_base: str, offset_min: int, expected_shift_min: int) -> None:
    from hub.health.sim.glucose_meter import StoredRecord

    async def go() -> None:
        h = Harness(tmp_path, profiles=extra(kind="glucose", time_base=time_base), write_time=False)
        meter = h.glucose(name="QUIRKY-GLU")
        base = h.local() - timedelta(minutes=expected_shift_min)
        value = gls.encode_measurement(1, base, mmol_per_l=5.5, time_offset_min=offset_min)
        meter.records.append(StoredRecord(1, value, None))
        meter.start_advertising()
        assert await h.sync(GLU) == "ok"
        (r,) = h.readings
        assert isinstance(r, GlucoseReading) and r.time_status == "ok"
        shift = offset_min if time_base == "local" else 0
        assert r.meter_time == (base + timedelta(minutes=shift)).replace(tzinfo=h.tz)

    run(go)
