"""The switch and the way back, cut at every step on a filesystem that keeps only what was fsynced
(tests/powercut.py): whatever survives, the boot guard leaves a version that runs and a marker that
tells the truth."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from powercut import PowerCutFS, fuse_available

from hub.update.guard import check
from hub.update.layout import FAILED, ROLLED_BACK, TRIAL, Releases

pytestmark = pytest.mark.skipif(fuse_available() is not None, reason=str(fuse_available()))


class PowerCut(Exception):
    pass


@pytest.fixture
def card(tmp_path: Path) -> Iterator[tuple[PowerCutFS, Releases]]:
    with PowerCutFS(tmp_path / "card") as fs:
        (fs.path / "venv").mkdir()  # the base venv `hub install` made
        root = fs.path / "releases"
        (root / "versions" / "0.2.0" / "venv").mkdir(parents=True)
        os.symlink("../venv", root / "current")
        fs.sync()
        yield fs, Releases(root)


def cut_at(step: int, action: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run `action`, the power failing just before its `step`-th rename (0-based); True if it was cut."""
    real, seen = os.replace, [0]

    def replace(src: Any, dst: Any) -> None:
        if seen[0] == step:
            raise PowerCut(f"before rename {step}: {dst}")
        seen[0] += 1
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    try:
        action()
        return False
    except PowerCut:
        return True
    finally:
        monkeypatch.setattr(os, "replace", real)


@pytest.mark.parametrize("step", range(4))  # begin_trial renames 3 times; 3 = it finished
def test_power_cut_during_the_switch(card: tuple[PowerCutFS, Releases], step: int,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fs, releases = card
    new = str(releases.venv("0.2.0"))
    cut = cut_at(step, lambda: releases.begin_trial("0.2.0", "0.1.0", 300, 3), monkeypatch)
    assert cut == (step < 3)
    fs.cut()
    said = check(releases.root)
    current, marker = releases.target(releases.current), releases.marker()
    assert (current == new) == (step == 3), said  # a finished switch is durable, an unfinished one is not
    if current == new:  # the switch survived: the new version is on trial, its first start counted
        assert step == 3 and marker is not None and marker.state == TRIAL and marker.starts == 1, said
    else:  # it did not: the old version runs; a marker that survived is reported as failed
        assert current == "../venv", said
        assert marker is None or (marker.state == FAILED and "interrupted before the switch" in marker.reason)
        assert (marker is None) == (step < 2), said  # the marker is the second rename


@pytest.mark.parametrize("step", range(3))  # roll_back renames twice; 2 = it finished
def test_power_cut_during_the_rollback(card: tuple[PowerCutFS, Releases], step: int,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fs, releases = card
    marker = releases.begin_trial("0.2.0", "0.1.0", 300, 3)
    fs.cut()  # everything above was made durable by the switch itself
    assert releases.target(releases.current) == marker.new
    cut = cut_at(step, lambda: releases.roll_back(marker, "self-test failed: temperature"), monkeypatch)
    assert cut == (step < 2)
    fs.cut()
    said = check(releases.root)
    after = releases.marker()
    assert after is not None
    if step == 0:  # nothing survived: still on trial, and this start is counted against it
        assert after.state == TRIAL and after.starts == 1 and releases.target(releases.current) == marker.new
    else:  # the marker survived: the guard finishes (or finds finished) the way back
        assert after.state == ROLLED_BACK and after.reason == "self-test failed: temperature", said
        assert releases.target(releases.current) == "../venv"
