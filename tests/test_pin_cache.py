"""tests/pin_cache.py: pinned figures are computed once per version of their sources and data, and again
when either changes (a changed detector must be measured, or its pins could not fail)."""

from __future__ import annotations

import os
from pathlib import Path

from pin_cache import cached, source_key


def _tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    src, data = tmp_path / "detect", tmp_path / "data"
    (src / "fall").mkdir(parents=True)
    (data / "SA01").mkdir(parents=True)
    (src / "fall" / "detector.py").write_text("THRESHOLD = 1.0\n")
    (src / "notes.txt").write_text("not a source\n")
    (data / "SA01" / "F01_SA01_R01.txt.gz").write_bytes(b"x" * 10)
    test = tmp_path / "test_pins.py"
    test.write_text("SEED = 22\n")
    return src, data, test


def test_the_key_changes_with_a_source_and_with_the_data(tmp_path: Path) -> None:
    src, data, test = _tree(tmp_path)
    first = source_key((src, test), data)
    assert source_key((src, test), data) == first
    (src / "notes.txt").write_text("edited, but not a .py file\n")
    assert source_key((src, test), data) == first
    (src / "fall" / "detector.py").write_text("THRESHOLD = 1.1\n")
    changed_source = source_key((src, test), data)
    assert changed_source != first
    test.write_text("SEED = 23\n")
    changed_test = source_key((src, test), data)
    assert changed_test != changed_source
    recording = data / "SA01" / "F01_SA01_R01.txt.gz"
    st = recording.stat()
    os.utime(recording, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = source_key((src, test), data)
    assert touched != changed_test
    (data / "SA01" / "F02_SA01_R01.txt.gz").write_bytes(b"y")
    assert source_key((src, test), data) != touched


def test_computed_once_per_key_and_again_for_another(tmp_path: Path) -> None:
    calls: list[str] = []

    def compute(tag: str) -> dict[str, object]:
        calls.append(tag)
        return {"sensitivity": 0.99, "tag": tag}

    first = cached(tmp_path, "figs", "a" * 64, lambda: compute("a"))
    again = cached(tmp_path, "figs", "a" * 64, lambda: compute("a, again"))
    other = cached(tmp_path, "figs", "b" * 64, lambda: compute("b"))
    assert first == again == {"sensitivity": 0.99, "tag": "a"}
    assert other == {"sensitivity": 0.99, "tag": "b"}
    assert calls == ["a", "b"]
    assert not list(tmp_path.glob("*.partial"))
