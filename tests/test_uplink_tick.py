"""The uplink's tick sleeps until its next deadline instead of waking every second
(hub.core.uplink.liveness.LinkWatch.next_due, tick_delay): the idle probe, an urgent publish's PUBACK
deadline (which re-plans a sleeping tick), an unanswered probe, paho's keepalive, backoff and takeover
resets. Pure: the end-to-end bounds are tests/test_uplink_liveness.py."""

from __future__ import annotations

import pytest

from hub.core.uplink.liveness import LinkWatch, Takeovers, tick_delay


def watch() -> LinkWatch:
    w = LinkWatch(puback_timeout_s=5.0, ping_timeout_s=5.0, keepalive_s=30.0)
    w.connected(100.0)
    return w


def test_an_idle_link_sleeps_until_its_probe() -> None:
    w = watch()
    assert w.next_due() == 115.0  # half the keepalive of silence
    w.heard(110.0)
    assert w.next_due() == 125.0
    assert w.check(124.9) is None and w.check(125.0) == "ping"
    assert w.next_due() == 130.0  # the probe's answer is due
    w.heard(125.2)  # answered: not suspect from this moment, not from the next tick
    assert not w.suspect(125.3) and w.next_due() == 140.2


def test_an_urgent_publish_wakes_the_tick_and_brings_its_deadline_forward() -> None:
    w, changed = watch(), []
    w.on_change = lambda: changed.append(True)
    w.heard(101.0)
    w.sent(7, 102.0)
    assert changed == [True] and w.next_due() == 107.0  # PUBACK overdue at 5 s
    w.heard(103.0)  # bytes heard since may have left the broker before it had the call: no proof
    assert w.next_due() == 107.0 and w.check(106.9) is None
    assert w.check(107.0) == "ping"  # the PUBACK overdue: a probe at once, not half a keepalive later
    w.heard(107.1)  # its answer: the link carried the call
    assert w.next_due() == pytest.approx(122.1)
    assert w.check(112.0) is None  # proven: no second probe for the same slow PUBACK
    w.done(7)
    assert w.next_due() == pytest.approx(122.1)


def test_a_probe_answered_before_the_call_went_out_proves_nothing_about_it() -> None:
    """The helper's case: a link that dies just after a call, with the broker's last bytes (an earlier
    probe's answer, an earlier PUBACK) arriving after the call left. The PUBACK deadline stands."""
    w = watch()
    assert w.check(115.0) == "ping"
    w.sent(9, 115.0005)  # the call, right after the idle probe
    w.heard(115.3)  # the PINGRESP to the probe sent before the call
    assert w.next_due() == pytest.approx(120.0005)
    assert w.check(120.0005) == "ping"
    assert w.check(125.0005) == "dead"  # nothing back: reconnect, and paho resends the call


def test_tick_delay_takes_the_earliest_deadline_and_never_spins() -> None:
    w, t = watch(), Takeovers(backoff_max_s=300.0)
    assert tick_delay(w, t, 100.0, 100.0, 30.0, None, None) == 15.0
    assert tick_delay(w, t, 100.0, 100.0, 30.0, 80.0, None) == 10.0  # paho pings at last_out + keepalive
    assert tick_delay(w, t, 100.0, 95.0, 30.0, 99.0, 20.0) == 15.0
    assert tick_delay(w, t, 100.0, 90.0, 30.0, 99.0, 20.0) == 10.0  # the backoff resets at STABLE_S
    t.in_a_row = 1
    assert tick_delay(w, t, 100.0, -495.0, 30.0, 99.0, None) == 5.0  # takeover count resets at 2 x max
    assert tick_delay(w, t, 200.0, 100.0, 30.0, 99.0, None) == pytest.approx(0.05)  # overdue: soon, not 0


def test_an_answered_probe_re_plans_the_sleeping_tick() -> None:
    w, changed = watch(), []
    w.on_change = lambda: changed.append(True)
    assert w.check(115.0) == "ping" and w.next_due() == 120.0
    w.heard(115.1)  # the PINGRESP: the tick sleeps till the next idle probe, not till the answer's deadline
    assert changed == [True] and w.next_due() == pytest.approx(130.1)
    w.heard(116.0)  # no probe out: nothing to re-plan
    assert changed == [True]


def test_a_probe_out_makes_the_link_suspect_only_once_it_goes_unanswered() -> None:
    w = watch()
    w.heard(110.0)
    assert w.check(125.0) == "ping"
    # A live broker answers in milliseconds: a press meanwhile is not told the network is down.
    assert not w.suspect(125.0) and not w.suspect(127.4)
    assert w.suspect(127.5)  # half the ping timeout without a byte back: evidence, not a routine probe
    assert w.check(130.0) == "dead"
