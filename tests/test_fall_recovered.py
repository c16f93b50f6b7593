"""Falls the wearer gets up from: reported (fall.recovered and one question whose answer calls for help),
not alarmed; getting up and collapsing again is an alarm. Detector on synthetic traces, the component
with the shared fake hub."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from test_fall_countdown import check_schema, started

from hub.detect.fall.collapse import COLLAPSE_S
from hub.detect.fall.component import RECOVERED_LISTEN_S
from hub.detect.fall.detector import FallDetector, FallParams
from hub.detect.fall.sim import synth_fall_trace, synth_recovered_trace


def decisions(trace: np.ndarray, rate: float = 50.0, chunk: int = 10) -> list:
    det = FallDetector(rate, FallParams())
    out = []
    for i in range(0, len(trace), chunk):
        out += det.push(trace[i:i + chunk])
    return [a for a in out if a.fall or a.recovered]


def test_a_fall_the_wearer_gets_up_from_is_recovered_not_alarmed() -> None:
    found = decisions(synth_recovered_trace(50.0))
    assert len(found) == 1, found
    a = found[0]
    assert a.recovered and not a.fall and a.kind == "fall"
    assert a.landing is not None and a.landing[3] * 90 >= 60  # it landed lying
    assert a.features[3] * 90 < 35  # and ended upright
    assert a.descent_s is not None and a.descent_s < 2.0


def test_staying_down_is_still_the_alarm_path() -> None:
    found = decisions(synth_fall_trace(50.0))
    assert [(a.fall, a.recovered, a.kind) for a in found] == [(True, False, "fall")]


def test_getting_up_then_collapsing_again_is_an_alarm() -> None:
    found = decisions(synth_recovered_trace(50.0, collapse=True))
    assert [(a.fall, a.recovered, a.kind) for a in found] == [(False, True, "fall"), (True, False, "collapse")]
    recovered, collapse = found
    # lying still for COLLAPSE_S after the sinking, then the decision
    assert collapse.t - recovered.t > COLLAPSE_S
    assert collapse.t - collapse.impact_t == pytest.approx(COLLAPSE_S, abs=0.6)


@pytest.mark.parametrize("rate,chunk", [(50.0, 1), (200.0, 200), (100.0, 7)])
def test_recovered_at_any_rate_and_chunking(rate: float, chunk: int) -> None:
    found = decisions(synth_recovered_trace(rate), rate, chunk)
    assert [(a.fall, a.recovered) for a in found] == [(False, True)]


def test_lying_down_slowly_is_not_a_fall_event() -> None:
    """Standing, 3 s lowering onto the side without impact, lying still: no candidate, no event."""
    rate = 50.0
    up, side = np.array([0.0, -1.0, 0.0]), np.array([-1.0, 0.0, 0.0])
    k = np.linspace(0, np.pi / 2, round(3 * rate))[:, None]
    trace = np.vstack((np.tile(up, (150, 1)), up * np.cos(k) + side * np.sin(k), np.tile(side, (1000, 1))))
    trace = trace + np.random.default_rng(3).normal(0, 0.01, trace.shape)
    assert decisions(trace) == []


def test_component_reports_recovered_and_asks_once_without_alarm() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        outcome = comp.wait_outcome()
        trace = synth_recovered_trace(50.0)
        for i in range(0, len(trace), 10):
            comp.on_samples(trace[i:i + 10], new_stream=i == 0)
        assert (await asyncio.wait_for(outcome, 5))["outcome"] == "recovered"
        assert not comp.counting_down
        event = ctx.events[0]
        assert event.type == "fall.recovered"
        assert event.data["source"] == "wearable" and event.data["kind"] == "fall" and event.data["impact_g"] > 2
        assert event.data["descent_s"] is not None and event.data["rotation_deg"] >= 60
        check_schema(event)
        await asyncio.sleep(0.05)
        assert [p for p, _ in ctx.said] == ["fall_recovered_check"]
        # the answer, a press, is not claimed: the call manager raises that button's call
        assert ctx.press(17) is False
        assert [e.type for e in ctx.events] == ["fall.recovered"]  # no alarm, no second event
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_component_collapse_after_recovery_starts_the_countdown_and_alarms() -> None:
    async def scenario() -> None:
        comp, ctx = await started()
        trace = synth_recovered_trace(50.0, collapse=True)
        first = comp.wait_outcome()
        for i in range(0, len(trace), 10):
            comp.on_samples(trace[i:i + 10], new_stream=i == 0)
        assert comp.counting_down  # the collapse: "您摔倒了吗？…" and the countdown
        assert (await asyncio.wait_for(first, 5))["outcome"] == "recovered"
        second = comp.wait_outcome()
        assert (await asyncio.wait_for(second, 10))["outcome"] == "alarm"
        assert [e.type for e in ctx.events] == ["fall.recovered", "alarm.fall"]
        assert ctx.events[1].data["kind"] == "collapse" and ctx.events[1].data["outcome"] == "no_response"
        check_schema(ctx.events[1])
    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_lying_down_to_rest_after_getting_up_is_not_a_collapse() -> None:
    """Got up, then lying still for less than COLLAPSE_S and up again: no alarm."""
    trace = synth_recovered_trace(50.0, collapse=True)
    cut = len(synth_recovered_trace(50.0)) + round((1.5 + COLLAPSE_S - 5.0) * 50)
    up_again = synth_recovered_trace(50.0)[-1]  # upright again
    found = decisions(np.vstack((trace[:cut], np.tile(up_again, (1500, 1)))))
    assert [(a.fall, a.recovered) for a in found] == [(False, True)]


def test_listen_window_is_bounded() -> None:
    assert 10 <= RECOVERED_LISTEN_S <= 60
