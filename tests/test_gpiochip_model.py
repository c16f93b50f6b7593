"""The lgpio chip model (drivers/fakes/gpiochip.py) behaves as the kernel and lgpio do where the hub
relies on it: debounce reports an edge once the level has been stable for the period, alerts come on
one thread in order, claims are exclusive, and a pulse train is recorded rather than run."""

from __future__ import annotations

import threading

import pytest
from support import wait_until

from drivers.fakes.gpiochip import BOTH_EDGES, FALLING_EDGE, SET_PULL_DOWN, SET_PULL_UP, FakeLgpio, error


def _alerts(model: FakeLgpio, handle: int, pin: int, debounce_us: int = 0,
            edges: int = BOTH_EDGES) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    model.gpio_claim_alert(handle, pin, edges, SET_PULL_UP)
    model.gpio_set_debounce_micros(handle, pin, debounce_us)
    model.callback(handle, pin, edges, lambda chip, gpio, level, ns: seen.append(
        (level, threading.current_thread().name)))
    return seen


def test_bounce_within_the_debounce_period_is_one_change_once_stable() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    seen = _alerts(model, h, 17, debounce_us=20_000)
    for level in (0, 1, 0, 1, 0):  # a contact closing with bounce, well inside 20 ms
        model.drive(17, level)
    assert model.busy()  # the period is running: nothing reported yet
    wait_until(lambda: not model.busy(), 5, "the debounce period to end")
    assert [level for level, _ in seen] == [0]
    assert model.gpio_read(h, 17) == 0


def test_a_glitch_shorter_than_the_period_reports_nothing() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    seen = _alerts(model, h, 4, debounce_us=20_000)
    model.drive(4, 0)
    model.drive(4, 1)  # back to where it was before the period ended
    wait_until(lambda: not model.busy(), 5, "the debounce period to end")
    assert seen == []


def test_without_debounce_every_edge_is_reported_in_order_on_one_alert_thread() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    seen = _alerts(model, h, 17)
    for level in (0, 1, 0, 1, 0):
        model.drive(17, level)
    wait_until(lambda: len(seen) == 5, 5, "five alerts")
    assert [level for level, _ in seen] == [0, 1, 0, 1, 0]
    assert {name for _, name in seen} == {"lgpio-alerts"}


def test_edge_flags_and_pulls() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    seen = _alerts(model, h, 5, edges=FALLING_EDGE)
    model.gpio_claim_input(h, 6, SET_PULL_DOWN)
    assert model.gpio_read(h, 5) == 1 and model.gpio_read(h, 6) == 0  # the pulls, nothing driving
    model.drive(5, 0)
    model.drive(5, 1)
    wait_until(lambda: not model.busy(), 5, "alerts delivered")
    assert [level for level, _ in seen] == [0]  # falling edges only
    model.drive(6, 1)
    assert model.gpio_read(h, 6) == 1
    model.drive(6, None)  # let go: the pull-down decides again
    assert model.gpio_read(h, 6) == 0


def test_claims_are_exclusive_between_handles_and_reads_need_a_claim() -> None:
    model = FakeLgpio()
    hub, other = model.gpiochip_open(0), model.gpiochip_open(0)
    model.gpio_claim_input(hub, 17, SET_PULL_UP)
    with pytest.raises(error, match="GPIO busy"):
        model.gpio_claim_input(other, 17, SET_PULL_UP)
    with pytest.raises(error, match="not allocated"):
        model.gpio_read(other, 18)
    model.gpio_free(hub, 17)
    model.gpio_claim_input(other, 17, SET_PULL_UP)
    assert model.claimed(17) == "input"
    with pytest.raises(error, match="can not open"):
        model.gpiochip_open(1)


def test_outputs_write_and_pulse() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    model.gpio_claim_output(h, 5, 0)
    model.gpio_write(h, 5, 1)
    assert model.level(5) == 1 and model.gpio_read(h, 5) == 1
    model.tx_pulse(h, 5, 80_000, 80_000, 0, 2)
    assert model.pulse(5) == (80_000, 80_000, 2)
    model.tx_pulse(h, 5, 0, 0)
    assert model.pulse(5) is None
    model.gpio_claim_input(h, 6)
    with pytest.raises(error, match="not set as an output"):
        model.gpio_write(h, 6, 1)


def test_the_alert_thread_ends_with_the_last_callback() -> None:
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    model.gpio_claim_alert(h, 17, BOTH_EDGES, SET_PULL_UP)
    cb = model.callback(h, 17, BOTH_EDGES, lambda *a: None)
    thread = model._thread
    assert thread is not None and thread.is_alive()
    cb.cancel()
    wait_until(lambda: not thread.is_alive(), 5, "the alert thread to end")


def test_a_line_at_rest_before_its_claim_reads_that_level_and_its_next_change_is_reported() -> None:
    # A door shut since before the hub started (hub.detect.contacts.sim): no edge at the claim, and the
    # first change after it reaches the callback however soon it comes.
    model = FakeLgpio()
    h = model.gpiochip_open(0)
    model.rest(16, 0)
    seen = _alerts(model, h, 16, debounce_us=20_000)
    assert model.gpio_read(h, 16) == 0 and not model.busy() and seen == []
    model.drive(16, 1)
    wait_until(lambda: not model.busy() and seen, 5, "the door's opening")
    assert [level for level, _ in seen] == [1]
