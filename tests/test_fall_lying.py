"""The measures `python -m hub.detect.evaluation.lying` reports for lying down on a bed against the
falls that end lying (issue 25, round 10), on synthetic 50 Hz traces: the hip's sink speed tells a turn
about a resting hip from a hip that drops, whatever the sensor's per-axis gain."""

from __future__ import annotations

import math

import numpy as np

from hub.detect.evaluation.lying import (
    REST_G,
    gyro_sink_speed,
    measures,
    rest_before,
    sink_speed,
    tracked_gravity,
)
from hub.detect.fall.resample import FS

UP = np.array([0.0, -1.0, 0.0])
SIDE = np.array([-1.0, 0.0, 0.0])
SEATED = math.cos(math.radians(20)) * UP + math.sin(math.radians(20)) * np.array([0.0, 0.0, 1.0])


def hold(v: np.ndarray, seconds: float, g: float = 1.0) -> np.ndarray:
    return np.tile(v * g, (round(seconds * FS), 1))


def turn(a: np.ndarray, b: np.ndarray, seconds: float, g0: float, g1: float) -> np.ndarray:
    """From posture a read at g0 to posture b read at g1 (a sensor's gain differs per axis)."""
    k = np.linspace(0.0, 1.0, round(seconds * FS))[:, None]
    path = a * (1 - k) + b * k
    return path / np.linalg.norm(path, axis=1, keepdims=True) * (g0 * (1 - k) + g1 * k)


def bump(v: np.ndarray, peak_g: float, n: int = 8) -> np.ndarray:
    k = np.linspace(0.0, 1.0, n)[:, None]
    return v * (1.0 + (peak_g - 1.0) * np.exp(-((k - 0.4) / 0.2) ** 2))


def lie_down(sink_g: float | None) -> tuple[np.ndarray, int]:
    """Sitting still (read at 1.08 g), a 0.6 s turn onto the side (read at 0.90 g), a 1.8 g bump, lying
    still. `sink_g`: |a| over the turn's last 0.3 s, the hip falling (None: the hip stays where it was)."""
    half = (SEATED + SIDE) / np.linalg.norm(SEATED + SIDE)
    parts = [hold(SEATED, 6.0, 1.08), turn(SEATED, half, 0.3, 1.08, 0.99)]
    last = turn(half, SIDE, 0.3, 0.99, 0.90)
    if sink_g is not None:
        last = last / np.linalg.norm(last, axis=1, keepdims=True) * sink_g
    parts += [last, bump(SIDE * 0.9, 1.8), hold(SIDE, 5.0, 0.90)]
    acc = np.vstack(parts) + np.random.default_rng(5).normal(0.0, 0.003, (sum(len(p) for p in parts), 3))
    return acc, round(6.6 * FS) + 3


def test_a_turn_about_a_resting_hip_does_not_sink_though_the_gain_differs_per_axis() -> None:
    # |a| falls from 1.08 g to 0.90 g with the posture: against the seated rest level alone that reads
    # as a 0.5 m/s sink.
    acc, i = lie_down(None)
    assert sink_speed(acc, i) < 0.15


def test_a_hip_that_drops_sinks_at_the_speed_of_its_fall() -> None:
    # 0.3 s at 0.5 g: 0.5 g short of the rest level for 0.3 s, ~1.5 m/s; blurred by the 0.5 s posture.
    acc, i = lie_down(0.5)
    assert 1.0 < sink_speed(acc, i) < 2.0
    assert measures(acc, i)["sink_s"] == sink_speed(acc, i)


def test_no_rest_before_means_no_sink_speed() -> None:
    t = np.arange(8 * FS) / FS
    walking = UP * (1.0 + 0.25 * np.sin(2 * math.pi * 1.8 * t))[:, None]
    acc = np.vstack((walking, bump(UP, 2.5), hold(SIDE, 4.0)))
    i = 8 * FS + 3
    assert rest_before(np.linalg.norm(acc, axis=1), i) is None
    assert sink_speed(acc, i) == math.inf and measures(acc, i)["rest_s"] == math.inf


def test_the_rest_found_is_the_last_still_block_before_the_turn() -> None:
    acc, i = lie_down(None)
    mag = np.linalg.norm(acc, axis=1)
    start = rest_before(mag, i)
    assert start is not None and float(mag[start:start + FS // 2].std()) < REST_G
    assert measures(acc, i)["rest_s"] == (i - start - FS // 2) / FS <= 1.0  # one quick turn from rest


def slerp_turn(a: np.ndarray, b: np.ndarray, seconds: float, g0: float, g1: float,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Gravity as the sensor reads it turning from a to b at a constant rate, and the gyro's angular rate
    (rad/s) that turns it so: the sensor rotates against the direction gravity turns in its frame."""
    n = np.cross(a, b)
    n = n / np.linalg.norm(n)
    theta = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    k = np.arange(round(seconds * FS)) / (seconds * FS)
    path = np.array([a * math.cos(theta * x) + np.cross(n, a) * math.sin(theta * x) for x in k])
    return path * (g0 * (1 - k) + g1 * k)[:, None], np.tile(-theta / seconds * n, (len(k), 1))


def lie_down_with_gyro(sink_g: float | None) -> tuple[np.ndarray, np.ndarray, int]:
    """`lie_down` with the turn at a constant rate and the gyro that goes with it (still elsewhere)."""
    turned, rates = slerp_turn(SEATED, SIDE, 0.6, 1.08, 0.90)
    if sink_g is not None:
        turned[-round(0.3 * FS):] *= sink_g / np.linalg.norm(turned[-round(0.3 * FS):], axis=1, keepdims=True)
    parts = [hold(SEATED, 6.0, 1.08), turned, bump(SIDE * 0.9, 1.8), hold(SIDE, 5.0, 0.90)]
    acc = np.vstack(parts)
    gyro = np.zeros_like(acc)
    gyro[len(parts[0]):len(parts[0]) + len(rates)] = rates
    return acc, gyro, len(parts[0]) + len(turned) + 3


def test_the_gyro_turns_the_gravity_direction_with_the_trunk() -> None:
    acc, gyro, i = lie_down_with_gyro(None)
    start = round(5.0 * FS)
    g = tracked_gravity(acc, gyro, start, i, FS)
    assert math.degrees(math.acos(float(np.clip(g[-1] @ SIDE, -1.0, 1.0)))) < 3.0


def test_the_gyro_tells_a_resting_hip_from_a_dropping_one() -> None:
    still, gyro, i = lie_down_with_gyro(None)
    dropped, _, _ = lie_down_with_gyro(0.5)
    assert gyro_sink_speed(still, gyro, i, FS) < 0.15
    assert 1.0 < gyro_sink_speed(dropped, gyro, i, FS) < 2.0
