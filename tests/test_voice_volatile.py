"""Spoken prompts and the card: a prompt with fields (a reading, a temperature, a name) is heard once, so
its WAV is rendered in RAM (PromptAudio.volatile_dir) and never touches the card cache; a fixed prompt is
cached on the card as its one final file (the espeak-ng output and sox's intermediate file stay in RAM);
both caches are bounded (oldest WAVs go first)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voice import audio, library
from voice.library import PromptAudio

LEVEL = -23.0
pytestmark = pytest.mark.skipif(audio.sox_binary() is None, reason="sox not installed")


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_a_reading_is_rendered_in_ram_and_a_fixed_prompt_once_on_the_card(tmp_path: Path) -> None:
    card, ram = tmp_path / "card", tmp_path / "ram"
    pa = PromptAudio(card, level_db=LEVEL, volatile_dir=ram)
    fixed = pa.render("call_cancelled")
    assert fixed.wav.parent == card and files(card) == [fixed.wav.name]  # no temporaries left on the card
    reading = pa.render("sensors_heat_alarm", temperature=36)
    assert reading.wav.parent == ram and "三十六" in reading.text and audio.wav_info(reading.wav) is not None
    assert files(card) == [fixed.wav.name]  # the card did not see the reading at all
    assert files(ram) == [reading.wav.name]
    again = pa.render("sensors_heat_alarm", temperature=36)
    assert again.wav == reading.wav  # heard again soon (a reminder): from RAM, not rendered again


def test_without_a_ram_directory_everything_goes_to_the_cache(tmp_path: Path) -> None:
    pa = PromptAudio(tmp_path, level_db=LEVEL)
    reading = pa.render("sensors_heat_alarm", temperature=37)
    assert reading.wav.parent == tmp_path and files(tmp_path) == [reading.wav.name]


def test_both_caches_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "VOLATILE_MAX_FILES", 2)
    card, ram = tmp_path / "card", tmp_path / "ram"
    pa = PromptAudio(card, level_db=LEVEL, volatile_dir=ram, cache_max_files=2)
    for key in ("call_cancelled", "call_acknowledged", "alarm_acknowledged"):
        pa.render(key)
    for celsius in (35, 36, 37, 38):
        last = pa.render("sensors_heat_alarm", temperature=celsius)
    assert len(files(card)) == 2 and len(files(ram)) == 2
    assert last.wav.exists()  # the newest, the one about to be played, is never the one pruned


def test_the_ram_directory_is_systemds_runtime_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    assert library.volatile_dir(tmp_path / "state") == tmp_path / "run" / "voice"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    shm, other = library.volatile_dir(tmp_path / "state"), library.volatile_dir(tmp_path / "b")
    try:
        assert shm is not None and str(shm).startswith("/dev/shm/") and shm != other  # one per hub
        assert not shm.exists()  # made only when a prompt with fields is rendered
    finally:
        for folder in (shm, other):
            if folder is not None:
                shutil.rmtree(folder.parent, ignore_errors=True)
