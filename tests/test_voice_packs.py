"""Voice packs and the rendered audio: recordings where there are some, TTS for the rest, one loudness,
and a cached WAV cut short is rendered again, never served."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from voice import audio, packs
from voice.catalogue import catalogue, prompt
from voice.library import PromptAudio
from voice.recorder import assess
from voice.tts import Voice, synthesise

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                                reason="needs espeak-ng and sox")
LEVEL = -23.0
RECORDED = ("call_raising", "call_cancelled", "fall_check")


def record(key: str, path: Path, rate: int = 48000, level_db: float = -38.0) -> None:
    """A stand-in for a person at a microphone: the prompt spoken by another voice, at 48 kHz, stereo, quiet,
    with half a second of room noise before and after."""
    raw = path.with_suffix(".raw.wav")
    synthesise(prompt(key).zh, Voice("cmn-latn-pinyin", 120, 100), raw)
    level = audio.loudness(raw).level_db
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "2", str(path), "pad", "0.5", "0.5",
                    "gain", f"{level_db - level:.1f}"], check=True)
    raw.unlink()


def make_pack(root: Path, keys: tuple[str, ...] = RECORDED, rate: int = 48000, extra: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "manifest.toml").write_text(
        f'[pack]\nname = "chengdu"\nlanguage = "zh-CN"\ndialect = "四川话"\nspeaker = "王阿姨"\n'
        f"sample_rate = {rate}\n{extra}", encoding="utf-8")
    for key in keys:
        record(key, root / f"{key}.wav", rate)
    return root


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pack(tmp_path_factory.mktemp("packs") / "chengdu")


def test_import_installs_the_pack_and_the_recordings_are_played(pack_dir: Path, tmp_path: Path) -> None:
    pack = packs.import_pack(pack_dir, tmp_path)
    assert pack.root == tmp_path / "voice-pack" and sorted(pack.recordings) == sorted(RECORDED)
    pa = PromptAudio(tmp_path / "cache", state_dir=tmp_path, level_db=LEVEL, pack_dir=packs.installed(tmp_path))
    rec = pa.render("call_raising")
    assert (rec.source, rec.voice, rec.language, rec.text) == ("recording", "pack:chengdu", "zh-CN",
                                                               prompt("call_raising").zh)
    tts = pa.render("call_acknowledged")  # not recorded: synthesised
    assert tts.source == "tts" and tts.voice == pa.choice().voice
    fielded = pa.render("sensors_heat_alarm", temperature=36)
    assert fielded.source == "tts" and "三十六度" in fielded.text
    for r in (rec, tts, fielded):
        info = audio.wav_info(r.wav)
        assert info is not None and (info.rate, info.channels, info.bits) == (22050, 1, 16)
        assert abs(audio.loudness(r.wav).level_db - LEVEL) <= 1.0, r.key  # the quiet recording is lifted
    source = audio.wav_info(pack_dir / "call_raising.wav")
    assert source is not None and rec.duration_s < source.duration_s - 0.7, "the room's silence is trimmed"


def test_missing_keys_are_the_recordable_prompts_without_a_recording(pack_dir: Path) -> None:
    pack = packs.load(pack_dir)
    recordable = {k for k, p in catalogue().items() if not p.has_fields}
    assert set(pack.missing()) == recordable - set(RECORDED)
    assert "sensors_heat_alarm" not in pack.missing(), "a prompt with fields is always synthesised"


def test_a_zip_with_a_top_folder_imports_and_cannot_write_outside(pack_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in pack_dir.iterdir():
            zf.write(f, f"chengdu/{f.name}")
        zf.writestr("../../evil.wav", b"RIFF")
        zf.writestr("notes.txt", "ignored")
    state = tmp_path / "state"
    pack = packs.import_pack(archive, state)
    assert sorted(pack.recordings) == sorted(RECORDED)
    assert sorted(p.name for p in state.rglob("*") if p.is_file()) == sorted(
        ["manifest.toml", "evil.wav", *(f"{k}.wav" for k in RECORDED)])
    assert not (tmp_path / "evil.wav").exists()
    assert "evil.wav" in pack.unknown


@pytest.mark.parametrize(("manifest", "problem"), [
    ("", "needs a [pack] table"),
    ('[pack]\nname = "x"\nlanguage = "zh-CN"\nsample_rate = 48000\n', "lacks speaker"),
    ('[pack]\nname = "x"\nlanguage = "zh-CN"\nspeaker = "y"\nsample_rate = 44100\n', "recorded at 48000 Hz"),
])
def test_a_broken_pack_is_refused_and_the_installed_one_kept(pack_dir: Path, tmp_path: Path, manifest: str,
                                                             problem: str) -> None:
    packs.import_pack(pack_dir, tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(pack_dir, broken)
    (broken / "manifest.toml").write_text(manifest, encoding="utf-8")
    with pytest.raises(packs.PackError, match=re.escape(f"{broken}/")) as refused:
        packs.import_pack(broken, tmp_path)
    assert problem in str(refused.value)
    assert packs.load(tmp_path / "voice-pack").name == "chengdu"


def test_a_truncated_recording_is_refused(pack_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(pack_dir, broken)
    data = (broken / "fall_check.wav").read_bytes()
    (broken / "fall_check.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(packs.PackError, match=re.escape("fall_check.wav: not a whole PCM WAV")):
        packs.load(broken)


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_a_damaged_cached_wav_is_rendered_again(tmp_path: Path, damage: str) -> None:
    pa = PromptAudio(tmp_path, level_db=LEVEL)
    first = pa.render("call_cancelled")
    whole = first.wav.read_bytes()
    broken = {"truncate": whole[: len(whole) // 3], "empty": b"", "garbage": b"RIFF\x00\x00"}[damage]
    first.wav.write_bytes(broken)  # the disk filled up mid-write, or the power went
    assert audio.wav_info(first.wav) is None
    again = pa.render("call_cancelled")
    assert again.wav == first.wav and again.wav.read_bytes() == whole and again.duration_s == first.duration_s


def test_volume_is_a_gain_on_the_common_level(tmp_path: Path) -> None:
    pa = PromptAudio(tmp_path, level_db=LEVEL)
    normal, soft, loud = (pa.render("fall_check", volume=v) for v in (100, 50, 200))
    assert abs(audio.loudness(soft.wav).level_db - (LEVEL - 6.0)) <= 1.0
    assert audio.loudness(loud.wav).level_db > audio.loudness(normal.wav).level_db + 3.0
    assert not audio.loudness(loud.wav).clipping


def hub_voice(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", "voice", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)


def test_hub_voice_check_reports_each_prompt_and_the_missing_keys(pack_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t"\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    imported = hub_voice("import", str(pack_dir), config=config)
    assert imported.returncode == 0, imported.stderr
    assert "3 recordings" in imported.stdout
    done = hub_voice("check", "--json", config=config)
    assert done.returncode == 0, done.stdout[-2000:]
    report = json.loads(done.stdout)
    by_key = {p["key"]: p for p in report["prompts"]}
    assert set(by_key) == set(catalogue())
    assert {k for k, p in by_key.items() if p["source"] == "recording"} == set(RECORDED)
    for p in by_key.values():
        assert p["ok"] and Path(p["wav"]).exists() and p["duration"] > 0.5 and not p["clipping"]
        assert abs(p["loudness"] - report["level_db"]) <= 1.5
        assert p["language"] == "zh-CN" and (p["voice"] == "pack:chengdu") == (p["source"] == "recording")
    assert by_key["sensors_heat_alarm"]["text"] == "室内温度过高，现在三十六度，请开窗通风、多喝水，提醒已发送到社区"
    assert set(report["missing"]) == set(packs.load(pack_dir).missing())
    assert report["voice"]["chosen"] == by_key["call_acknowledged"]["voice"]


def test_hub_voice_check_fails_on_a_voice_that_does_not_read_mandarin(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t"\nstate_dir = "{tmp_path}"\n[voice]\nespeak_voice = "en"\n', encoding="utf-8")
    done = hub_voice("check", config=config)
    assert done.returncode == 1
    assert "'en' 不能读普通话 does not read Mandarin" in done.stdout and 'espeak_voice = "auto"' in done.stdout


def test_hub_voice_say_renders_and_reports_without_a_sound_card(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t"\nstate_dir = "{tmp_path}"\n', encoding="utf-8")
    done = hub_voice("say", "sensors_cold_alarm", "-f", "temperature=-3", "--no-play", config=config)
    assert done.returncode == 0, done.stderr
    assert "现在零下三度" in done.stdout
    unknown = hub_voice("say", "no_such_prompt", config=config)
    assert unknown.returncode == 2 and "hub voice list" in unknown.stderr
    # a misspelt field rendered the sample value, which looked right, instead of saying so
    typo = hub_voice("say", "sensors_cold_alarm", "-f", "temprature=-3", "--no-play", config=config)
    assert typo.returncode == 2 and typo.stdout == "", typo
    assert "sensors_cold_alarm has no field 'temprature'; its fields: temperature" in typo.stderr


def test_hub_voice_say_without_a_sound_card_says_so_in_one_readable_line(tmp_path: Path) -> None:
    """aplay's three lines of ALSA complaints were cut at 160 characters from the end ("(te error: ...")."""
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t"\nstate_dir = "{tmp_path}"\n[voice]\ndevice = "hw:99"\n', encoding="utf-8")
    done = hub_voice("say", "call_cancelled", config=config)
    if done.returncode == 0:
        pytest.skip("this machine plays on hw:99")
    assert done.returncode == 1, done
    first, second = done.stderr.splitlines()[:2]
    assert first.startswith("没有声音输出 no audio output: ") and "(te error" not in first, done.stderr
    assert "check the speaker and [voice] device (hw:99)" in second and ".wav" in second, done.stderr


def test_hub_voice_record_names_the_microphone_problem(tmp_path: Path) -> None:
    if shutil.which("arecord") is None:
        pytest.skip("arecord not installed")
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nid = "t"\nstate_dir = "{tmp_path}"\n', encoding="utf-8")
    done = hub_voice("record", "call_raising", "--seconds", "1", "--device", "hw:99", "--speaker", "王阿姨",
                     config=config)
    assert done.returncode == 1 and "check the microphone" in done.stderr, done.stdout + done.stderr
    assert not (tmp_path / "voice-pack" / "call_raising.wav").exists()
    assert packs.load(tmp_path / "voice-pack").speaker == "王阿姨"  # the new pack's manifest is written


@pytest.mark.parametrize(("effects", "problem"), [
    (["trim", "0", "1"], "almost silent"),  # a microphone that is not connected
    (["synth", "1", "sine", "440", "gain", "+6"], "clipped"),  # a speaker far too close to it
])
def test_a_silent_or_clipped_take_is_not_kept(tmp_path: Path, effects: list[str], problem: str) -> None:
    take = tmp_path / "take.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(take), *effects], check=True,
                   capture_output=True)
    _, problems = assess(take)
    assert any(problem in p for p in problems), problems


def test_a_good_take_passes(tmp_path: Path) -> None:
    record("call_raising", tmp_path / "take.wav", level_db=-28.0)
    assert assess(tmp_path / "take.wav")[1] == ()


def test_without_sox_the_hub_still_speaks_the_tts_and_says_why(pack_dir: Path, tmp_path: Path, monkeypatch,
                                                                caplog) -> None:
    bin_dir = tmp_path / "bin"  # a machine with espeak-ng but no sox
    bin_dir.mkdir()
    (bin_dir / "espeak-ng").symlink_to(shutil.which("espeak-ng") or "espeak-ng")
    monkeypatch.setenv("PATH", str(bin_dir))
    pa = PromptAudio(tmp_path / "cache", level_db=LEVEL, pack_dir=packs.import_pack(pack_dir, tmp_path).root)
    with caplog.at_level("WARNING"):
        recorded, synthesised = pa.render("call_raising"), pa.render("call_acknowledged", volume=150)
    assert (recorded.source, recorded.normalised) == ("tts", False), "a recording needs sox to be resampled"
    assert synthesised.normalised is False and audio.wav_info(synthesised.wav) is not None
    assert "apt-get install sox" in caplog.text
