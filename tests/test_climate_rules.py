"""Heat, cold and rate-of-rise rules at their edges, time injected (never slept)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from hub.config.loader import validate
from hub.home.climate_rules import ClimateRules, Decision, Thresholds

STEP = 10.0  # seconds between readings, as with the default poll
AFTER_INHIBIT = Thresholds().inhibit_s


def run(
    rules: ClimateRules, start: float, end: float, temp: Callable[[float], float], step: float = STEP
) -> list[Decision]:
    out: list[Decision] = []
    t = start
    while t <= end + 1e-9:
        out.extend(rules.feed(t, temp(t)))
        t += step
    return out


def kinds(decisions: Iterable[Decision]) -> list[tuple[str, str]]:
    return [(d.kind, d.action) for d in decisions]


def warm_rules(**overrides: float) -> ClimateRules:
    """Rules past their power-up inhibit, fed a normal room until then."""
    rules = ClimateRules(Thresholds(**overrides), started_at=0.0)
    assert run(rules, 0.0, AFTER_INHIBIT - STEP, lambda t: 22.0) == []
    return rules


def test_thresholds_from_config_defaults() -> None:
    th = Thresholds.from_config(validate({})["temperature"])
    assert th == Thresholds()


# --- heat -----------------------------------------------------------------------------------------
def test_heat_just_under_threshold_never_alarms() -> None:
    rules = warm_rules()
    assert run(rules, AFTER_INHIBIT, AFTER_INHIBIT + 6 * 3600, lambda t: 34.99) == []


@pytest.mark.parametrize("held_s, fires", [(110.0, False), (120.0, False), (130.0, True)])
def test_heat_sustain_edge(held_s: float, fires: bool) -> None:
    """>= 35 °C for *longer than* 2 min: readings at 0..120 s span exactly 120 s, not longer."""
    rules = warm_rules()
    t0 = AFTER_INHIBIT
    decisions = run(rules, t0, t0 + held_s, lambda t: 35.0)
    decisions += run(rules, t0 + held_s + STEP, t0 + held_s + 600, lambda t: 30.0)
    alarms = [d for d in decisions if d.action == "alarm"]
    assert bool(alarms) is fires
    if fires:
        assert alarms[0].kind == "heat" and alarms[0].t == t0 + 130 and alarms[0].since == t0


def test_heat_dip_below_threshold_restarts_sustain() -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT

    def temp(t: float) -> float:
        return 34.9 if (t - t0) % 100 == 90 else 36.0  # a dip every 100 s: never 2 min unbroken

    assert run(rules, t0, t0 + 3600, temp) == []


def test_heat_hysteresis_clears_only_1c_below() -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT
    assert kinds(run(rules, t0, t0 + 130, lambda t: 36.0)) == [("heat", "alarm")]
    assert run(rules, t0 + 140, t0 + 600, lambda t: 34.1) == []  # below 35 but within hysteresis
    assert run(rules, t0 + 610, t0 + 900, lambda t: 36.0) == []  # back over: still the same alarm
    assert kinds(run(rules, t0 + 910, t0 + 910, lambda t: 34.0)) == [("heat", "clear")]
    # cleared: a new sustained episode alarms again, well within 24 h
    assert kinds(run(rules, t0 + 920, t0 + 1060, lambda t: 35.5)) == [("heat", "alarm")]


def test_power_up_inhibit_then_alarm_when_it_ends() -> None:
    rules = ClimateRules(Thresholds(), started_at=0.0)
    assert run(rules, 0.0, AFTER_INHIBIT - STEP, lambda t: 38.0) == []  # hot from power-up: inhibited
    decisions = run(rules, AFTER_INHIBIT, AFTER_INHIBIT, lambda t: 38.0)
    assert kinds(decisions) == [("heat", "alarm")]
    assert decisions[0].since == 0.0


def test_once_per_24h_while_not_cleared() -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT
    decisions = run(rules, t0, t0 + 86400 + 120, lambda t: 36.0, step=60.0)
    alarms = [d for d in decisions if d.action == "alarm"]
    assert len(alarms) == 1  # 24 h after the first alarm only just reached
    decisions = run(rules, t0 + 86400 + 180, t0 + 86400 + 300, lambda t: 36.0, step=60.0)
    assert [d.repeat for d in decisions] == [True]
    assert decisions[0].t - alarms[0].t >= 86400


def test_gap_in_readings_restarts_sustain() -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT
    assert run(rules, t0, t0 + 100, lambda t: 36.0) == []
    # the sensor was faulted for 10 min; the next hot reading starts a new sustain period
    assert run(rules, t0 + 700, t0 + 810, lambda t: 36.0) == []
    assert kinds(run(rules, t0 + 820, t0 + 830, lambda t: 36.0)) == [("heat", "alarm")]


# --- cold -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "temperature, held_s, fires",
    [
        (12.01, 3600.0, False),  # just above the threshold
        (12.0, 600.0, False),  # exactly 10 min: not longer
        (12.0, 610.0, True),
        (5.0, 590.0, False),
    ],
)
def test_cold_edges(temperature: float, held_s: float, fires: bool) -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT
    decisions = run(rules, t0, t0 + held_s, lambda t: temperature)
    assert kinds(decisions) == ([("cold", "alarm")] if fires else [])


def test_cold_hysteresis_and_inhibit() -> None:
    rules = ClimateRules(Thresholds(), started_at=0.0)
    assert run(rules, 0.0, AFTER_INHIBIT - STEP, lambda t: 8.0) == []
    assert kinds(run(rules, AFTER_INHIBIT, AFTER_INHIBIT, lambda t: 8.0)) == [("cold", "alarm")]
    t = AFTER_INHIBIT + STEP
    assert run(rules, t, t + 600, lambda t: 12.9) == []  # warmer, not yet 1 °C past the threshold
    assert kinds(run(rules, t + 610, t + 610, lambda t: 13.0)) == [("cold", "clear")]


def test_thresholds_come_from_config() -> None:
    rules = warm_rules(heat_c=30.0, heat_sustain_s=30.0)
    t0 = AFTER_INHIBIT
    assert kinds(run(rules, t0, t0 + 40, lambda t: 30.0)) == [("heat", "alarm")]


# --- rate of rise ---------------------------------------------------------------------------------
def ramp(start: float, c_per_min: float, t0: float) -> Callable[[float], float]:
    return lambda t: start + c_per_min * max(0.0, t - t0) / 60.0


def test_ror_fast_exactly_at_threshold_fires_after_a_full_window() -> None:
    rules = ClimateRules(Thresholds(), started_at=0.0)  # not inhibited after power-up
    decisions = run(rules, 0.0, 300.0, ramp(20.0, 3.0, 0.0))
    assert kinds(decisions) == [("rate_of_rise", "alarm")]
    d = decisions[0]
    assert d.t == 300.0 and d.window_s == 300.0 and d.rate_c_per_min == pytest.approx(3.0)


def test_ror_fast_just_under_does_not_fire() -> None:
    rules = ClimateRules(Thresholds(inhibit_s=3600.0), started_at=0.0)  # the heat rule stays out of it
    assert run(rules, 0.0, 1500.0, ramp(20.0, 2.95, 0.0)) == []  # < 30 min: the slow window is not full


def test_ror_slow_edges() -> None:
    under = ClimateRules(Thresholds(heat_c=80.0), started_at=0.0)
    assert run(under, 0.0, 3000.0, ramp(15.0, 0.99, 0.0)) == []
    at = ClimateRules(Thresholds(heat_c=80.0), started_at=0.0)
    decisions = run(at, 0.0, 1800.0, ramp(15.0, 1.0, 0.0))
    assert kinds(decisions) == [("rate_of_rise", "alarm")]
    assert decisions[0].window_s == 1800.0 and decisions[0].t == 1800.0


def test_ror_clears_when_the_rise_stops() -> None:
    rules = ClimateRules(Thresholds(heat_c=80.0), started_at=0.0)
    assert kinds(run(rules, 0.0, 300.0, ramp(20.0, 4.0, 0.0))) == [("rate_of_rise", "alarm")]

    def plateau(t: float) -> float:
        return min(20.0 + 4.0 * t / 60.0, 45.0)

    decisions = run(rules, 310.0, 1200.0, plateau)
    assert kinds(decisions) == [("rate_of_rise", "clear")]


def test_ror_short_spike_does_not_fire() -> None:
    rules = warm_rules()
    t0 = AFTER_INHIBIT

    def spike(t: float) -> float:  # sunlight on the sensor: +5 °C for a minute, then back
        return 27.0 if t0 + 120 <= t < t0 + 180 else 22.0

    assert run(rules, t0, t0 + 1200, spike) == []
