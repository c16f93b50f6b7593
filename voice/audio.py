"""WAV files the hub plays: checked before they are served, measured, and brought to one loudness with sox.

Every prompt, synthesised or recorded, is stored as 22050 Hz mono 16-bit PCM at the same speech level
(`level_db`, dBFS RMS of the voiced parts), so a recording is not quieter than TTS and the fall check's
rising volume is a real rise. A WAV whose header promises more samples than the file holds (the disk
filled up mid-render, power cut before the data reached the card) is reported as broken, never played.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

RATE = 22050
FRAME_S = 0.02  # loudness is measured over 20 ms frames
GATE_DB = 40.0  # frames this far below the loudest one are pauses, not speech
FULL_SCALE = 32768.0


class AudioError(RuntimeError):
    pass


@dataclass(frozen=True)
class WavInfo:
    channels: int
    rate: int
    bits: int
    frames: int
    offset: int  # where the samples start

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class Loudness:
    level_db: float  # dBFS RMS over the voiced frames
    peak_db: float
    clipped: int  # samples at full scale

    @property
    def clipping(self) -> bool:
        return self.clipped >= 3


def wav_info(path: Path) -> WavInfo | None:
    """The WAV's format if the file is whole: RIFF/WAVE, a PCM fmt chunk, and a data chunk the file really
    holds (a truncated render is None, and so is an empty one)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            fmt: tuple[int, int, int, int] | None = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    body = f.read(length)
                    if len(body) < 16:
                        return None
                    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
                    fmt = (tag, channels, rate, bits)
                    if align != channels * bits // 8:
                        return None
                    f.seek(length % 2, os.SEEK_CUR)
                elif cid == b"data":
                    if fmt is None or fmt[0] not in (1, 0xFFFE) or fmt[1] < 1 or fmt[2] < 1 or fmt[3] < 8:
                        return None
                    frame_bytes = fmt[1] * fmt[3] // 8
                    if length == 0 or f.tell() + length > size or length % frame_bytes:
                        return None
                    return WavInfo(fmt[1], fmt[2], fmt[3], length // frame_bytes, f.tell())
                else:
                    f.seek(length + length % 2, os.SEEK_CUR)
    except (OSError, struct.error):
        return None


def read_mono16(path: Path) -> tuple[array[int], int]:
    """The WAV's samples (channels averaged) and its rate. Plain Python, no numpy: the running hub
    renders prompts too, and numpy alone would add ~25 MB to a unit with a 45 MB budget."""
    info = wav_info(path)
    if info is None or info.bits != 16:
        raise AudioError(f"{path}: not a whole 16-bit PCM WAV")
    with path.open("rb") as f:
        f.seek(info.offset)
        samples = array("h")
        samples.frombytes(f.read(info.frames * info.channels * 2))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    if info.channels > 1:
        c = info.channels
        samples = array("h", (int(sum(samples[k:k + c]) / c) for k in range(0, len(samples) - c + 1, c)))
    return samples, info.rate


def loudness(path: Path) -> Loudness:
    samples, rate = read_mono16(path)
    n = max(1, int(rate * FRAME_S))
    count = len(samples) // n * n if len(samples) >= n else len(samples)
    scale = FULL_SCALE * FULL_SCALE
    power = [sum(v * v for v in samples[k:k + n]) / (len(samples[k:k + n]) * scale)
             for k in range(0, max(count, 1), n) if samples[k:k + n]]
    peak = max((abs(v) for v in samples), default=0) / FULL_SCALE
    if not power or max(power) <= 1e-10:
        return Loudness(-120.0, -120.0, 0)
    gate = max(power) / 10 ** (GATE_DB / 10)
    voiced = [pw for pw in power if pw >= gate]
    clipped = sum(1 for v in samples if abs(v) >= 32767)
    return Loudness(round(10 * math.log10(sum(voiced) / len(voiced)), 1), round(20 * math.log10(peak), 1), clipped)


def sox_binary() -> str | None:
    return shutil.which("sox")


TRIM = ("silence", "1", "0.05", "0.5%", "reverse", "silence", "1", "0.05", "0.5%", "reverse", "pad", "0.05", "0.15")


def normalise(src: Path, dst: Path, level_db: float, gain_db: float = 0.0, *, trim: bool = False,
              scratch: Path | None = None) -> Loudness:
    """Write `src` as 22050 Hz mono 16-bit at `level_db` (+ `gain_db`, the prompt's volume) to `dst`,
    atomically; sox's limiter keeps a loud request from clipping. `trim` cuts a recording's leading and
    trailing silence (the room before and after the sentence). The intermediate file goes to `scratch`
    (a RAM directory) when given: on the card only the result is written. Raises AudioError without sox."""
    sox = sox_binary()
    if sox is None:
        raise AudioError("sox not installed (apt-get install sox): prompts are not loudness-normalised")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=".norm-") as tmp, \
            tempfile.TemporaryDirectory(dir=scratch or dst.parent, prefix=".plain-") as plain_dir:
        plain = Path(plain_dir) / "plain.wav"
        _sox(sox, str(src), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(plain),
             *(TRIM if trim else ()))
        measured = loudness(plain)
        if measured.level_db <= -100:
            raise AudioError(f"{src}: silent")
        gain = level_db + gain_db - measured.level_db
        out = Path(tmp) / "out.wav"
        # sox's limiter reshapes even quiet passages: only where the gain would push a peak past -1 dBFS
        limit = ("-l",) if measured.peak_db + gain > -1.0 else ()
        _sox(sox, str(plain), str(out), "gain", *limit, f"{gain:.2f}")
        if wav_info(out) is None:
            raise AudioError(f"sox wrote no whole WAV for {src}")
        publish(out, dst)
    return loudness(dst)


def _sox(sox: str, *args: str) -> None:
    result = subprocess.run([sox, "-V1", "-D", *args], capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AudioError(f"sox {' '.join(args[:1])}: {result.stderr.decode(errors='replace').strip()[-200:]}")


def publish(tmp: Path, dst: Path) -> None:
    """fsync the file, rename it over `dst`, fsync the directory: `dst` is the old file or the new, whole."""
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    fd = os.open(dst.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        publish(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
