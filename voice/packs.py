"""Voice packs: recorded human prompts, in Putonghua or the resident's own dialect (四川话, 闽南话, 粤语 …).

A pack is a folder, or a .zip of one, holding `manifest.toml` and one recording per prompt key
(`call_raising.wav`, …; WAV or FLAC, any rate, mono or stereo):

    [pack]
    name = "chengdu-wang"            # short id, shown in logs and `hub voice check`
    language = "zh-CN"               # BCP 47: zh-CN Putonghua, yue Cantonese, nan Minnan, zh-CN-sichuan ...
    dialect = "四川话"                # what the installer calls it (optional)
    speaker = "王阿姨, community volunteer"
    sample_rate = 48000              # of the recordings (checked)

`hub voice import PACK` checks it and installs it as state_dir/voice-pack; the hub then plays the
recording where one exists and synthesises the rest (docs/voice.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from voice.audio import wav_info
from voice.catalogue import catalogue

MANIFEST = "manifest.toml"
AUDIO_SUFFIXES = (".wav", ".flac")
INSTALLED = "voice-pack"
REQUIRED = ("name", "language", "speaker", "sample_rate")


class PackError(ValueError):
    pass


@dataclass(frozen=True)
class Pack:
    root: Path
    name: str
    language: str
    speaker: str
    sample_rate: int
    dialect: str = ""
    recordings: dict[str, Path] = field(default_factory=dict)  # prompt key -> file
    unknown: tuple[str, ...] = ()  # recordings named after no prompt key (a typo?)

    def recording(self, key: str) -> Path | None:
        return self.recordings.get(key)

    def missing(self) -> list[str]:
        """Prompts a person could record (those without fields) that this pack has no recording for."""
        return sorted(k for k, p in catalogue().items() if not p.has_fields and k not in self.recordings)


def load(root: Path) -> Pack:
    """Read and check a pack folder; PackError names the file, the key and the remedy."""
    manifest = root / MANIFEST
    try:
        raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{manifest}: missing; a voice pack needs a manifest (docs/voice.md)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(f"{manifest}: unreadable: {exc}") from None
    meta = raw.get("pack")
    if not isinstance(meta, dict):
        raise PackError(f"{manifest}: needs a [pack] table with {', '.join(REQUIRED)}")
    absent = [k for k in REQUIRED if k not in meta]
    if absent:
        raise PackError(f"{manifest}: [pack] lacks {', '.join(absent)}")
    rate = meta["sample_rate"]
    if not isinstance(rate, int) or not 8000 <= rate <= 192000:
        raise PackError(f"{manifest}: [pack] sample_rate = {rate!r}: give the recordings' rate in Hz, e.g. 48000")
    known = catalogue()
    recordings: dict[str, Path] = {}
    unknown: list[str] = []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in AUDIO_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in known and not known[path.stem].has_fields:
            if path.suffix.lower() == ".wav":
                _check_wav(path, rate)
            recordings[path.stem] = path
        else:
            unknown.append(path.name)
    return Pack(root, str(meta["name"]), str(meta["language"]), str(meta["speaker"]), rate,
                str(meta.get("dialect", "")), recordings, tuple(unknown))


def _check_wav(path: Path, rate: int) -> None:
    info = wav_info(path)
    if info is None:
        raise PackError(f"{path}: not a whole PCM WAV (cut short? record it again)")
    if info.rate != rate:
        raise PackError(f"{path}: recorded at {info.rate} Hz but manifest.toml says sample_rate = {rate}")
    if info.duration_s < 0.3:
        raise PackError(f"{path}: only {info.duration_s:.2f} s long; record the whole sentence")


def installed(state_dir: Path, configured: str = "") -> Path | None:
    """The pack folder the hub uses: [voice] pack if set, else the one `hub voice import` installed."""
    root = Path(configured) if configured else state_dir / INSTALLED
    return root if (root / MANIFEST).exists() else None


def import_pack(source: Path, state_dir: Path) -> Pack:
    """Check `source` (folder or .zip) and install it as state_dir/voice-pack, replacing the old pack whole."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=state_dir, prefix=".voice-pack-") as tmp:
        staged = Path(tmp) / "pack"
        staged.mkdir()
        import zipfile  # only to import a pack: the running hub reads folders

        if source.is_file() and zipfile.is_zipfile(source):
            _unzip(source, staged)
        elif source.is_dir():
            for path in source.iterdir():
                if path.is_file() and (path.name == MANIFEST or path.suffix.lower() in AUDIO_SUFFIXES):
                    shutil.copyfile(path, staged / path.name)
        else:
            raise PackError(f"{source}: not a folder or a .zip file")
        try:
            load(staged)  # refuse a broken pack before touching the installed one
        except PackError as exc:
            raise PackError(str(exc).replace(str(staged), str(source))) from None
        for path in staged.iterdir():
            with path.open("rb") as f:
                os.fsync(f.fileno())
        target, old = state_dir / INSTALLED, Path(tmp) / "old"
        if target.exists():
            os.replace(target, old)
        os.replace(staged, target)
        fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return load(target)


def _unzip(source: Path, staged: Path) -> None:
    """Only the manifest and audio files, by their base name: a zip cannot write outside `staged`."""
    import zipfile

    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            name = Path(info.filename).name
            if info.is_dir() or name.startswith(".") or not (
                    name == MANIFEST or Path(name).suffix.lower() in AUDIO_SUFFIXES):
                continue
            if (staged / name).exists():
                raise PackError(f"{source}: {name} appears twice in the zip")
            with zf.open(info) as src, (staged / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
