"""hub.core.lines on both backends, with the same tests: the lgpio chip model (what a Pi and
`hub run --simulate` run) and gpiozero's mock pins (the backend for other boards)."""

from __future__ import annotations

import pytest
from gpio_support import BACKENDS, gpio_lines
from support import wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def test_an_input_reads_its_pull_and_reports_each_change_once(backend: str) -> None:
    seen: list[bool] = []
    with gpio_lines(backend) as (lines, drive, busy), lines.input(17, pull_up=True, on_change=seen.append) as button:
        assert button.value is True  # released: the pull-up holds it high
        drive(17, 0)
        wait_until(lambda: seen == [False], 5, "the press")
        assert button.value is False
        drive(17, 0)  # driven again at the same level: no change, no callback
        drive(17, 1)
        wait_until(lambda: seen == [False, True], 5, "the release")
        wait_until(lambda: not busy(), 5, "nothing on its way")
        assert seen == [False, True]


def test_bounce_within_the_period_is_one_change(backend: str) -> None:
    seen: list[bool] = []
    with gpio_lines(backend) as (lines, drive, busy), \
            lines.input(22, pull_up=True, bounce_ms=200, on_change=seen.append):
        for level in (0, 1, 0, 1, 0):  # contact chatter, back to back: well inside 200 ms
            drive(22, level)
        wait_until(lambda: seen, 5, "the change")
        wait_until(lambda: not busy(), 5, "the debounce period to end")
        assert seen == [False]


def test_a_pull_down_input_and_a_line_without_a_callback(backend: str) -> None:
    with gpio_lines(backend) as (lines, drive, _), lines.input(6, pull_up=False) as line:
        assert line.value is False
        drive(6, 1)
        assert line.value is True


def test_close_is_idempotent_frees_the_line_and_a_line_is_held_once(backend: str) -> None:
    with gpio_lines(backend) as (lines, _, _):
        first = lines.input(17, pull_up=True)
        with pytest.raises(ValueError, match="already in use"):
            lines.output(17)
        first.close()
        first.close()
        assert not lines.holds(17)
        with lines.output(17) as out:  # free again
            assert lines.holds(17)
        out.close()
        assert not lines.holds(17)


def test_outputs_switch_and_blink(backend: str) -> None:
    with gpio_lines(backend) as (lines, _, _), lines.output(5) as led:
        assert led.value is False
        led.on()
        assert led.value is True
        led.blink(0.01, 0.01, 2)  # two short pulses; then off
        led.off()
        assert led.value is False
        led.blink(0.2, 1.8)
        led.on()  # writing stops the blink
        assert led.value is True


def test_read_looks_at_a_held_line_or_claims_one_with_its_pull(backend: str) -> None:
    with gpio_lines(backend) as (lines, drive, _):
        with lines.input(17, pull_up=True):
            drive(17, 0)
            assert lines.read(17, pull_up=True) is False  # the part's line, read as it is
        assert lines.read(23, pull_up=True) is True  # nothing holds it: claimed with the pull-up
        assert lines.read(24, pull_up=False) is False
        seen: list[bool] = []
        with lines.input(23, pull_up=True, on_change=seen.append):  # a part takes a looked-at line
            drive(23, 0)
            wait_until(lambda: seen == [False], 5, "the change")

