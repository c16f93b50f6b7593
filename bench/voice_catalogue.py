"""Render the whole prompt catalogue into an empty cache, as a hub does at its first start, and print figures:
render time, per-prompt duration (from the WAV) and speech rate, loudness spread, and how espeak-ng's phonemes
agree with pypinyin's tones. Nothing is asserted.

    python bench/voice_catalogue.py [--voice auto] [--speed 140] [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice import audio
from voice.catalogue import catalogue
from voice.library import PromptAudio
from voice.phonemes import HAN, tone_contours, transcribe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", default="auto")
    parser.add_argument("--speed", type=int, default=140)
    parser.add_argument("--keep", action="store_true", help="keep the rendered WAVs and print where")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    pa = PromptAudio(tmp / "cache", state_dir=tmp, voice=args.voice, speed_wpm=args.speed)
    t0 = time.monotonic()
    choice = pa.choice()
    probe_s = time.monotonic() - t0
    rows = []
    t0 = time.monotonic()
    for key, p in catalogue().items():
        start = time.monotonic()
        r = pa.render(key, "zh", **p.sample)
        rows.append((key, r, time.monotonic() - start, len(HAN.findall(r.text))))
    total_s = time.monotonic() - t0
    print(f"espeak-ng: {choice.espeak}\nvoice: {choice.voice} (probe {probe_s * 1000:.0f} ms, cached afterwards)")
    print(f"{'key':<26} {'han':>3} {'secs':>5} {'s/char':>6} {'dBFS':>6} {'peak':>5} {'render ms':>9}  text")
    levels, durations, rates = [], [], []
    for key, r, secs, han in rows:
        level = audio.loudness(r.wav)
        levels.append(level.level_db)
        durations.append(r.duration_s)
        rates.append(r.duration_s / han)
        print(f"{key:<26} {han:>3} {r.duration_s:5.2f} {r.duration_s / han:6.3f} {level.level_db:6.1f} "
              f"{level.peak_db:5.1f} {secs * 1000:9.0f}  {r.text}")
    print(f"\n{len(rows)} prompts rendered in {total_s:.2f} s ({total_s / len(rows) * 1000:.0f} ms each, "
          f"espeak-ng + sox); second pass from the cache:", end=" ")
    t0 = time.monotonic()
    for key, p in catalogue().items():
        pa.render(key, "zh", **p.sample)
    print(f"{(time.monotonic() - t0) * 1000:.0f} ms")
    print(f"duration: mean {statistics.mean(durations):.2f} s, min {min(durations):.2f}, max {max(durations):.2f}; "
          f"{statistics.mean(rates):.3f} s per character (the contract allows 0.12 .. 0.6 + 1.5/n)")
    print(f"loudness: {min(levels):.1f} .. {max(levels):.1f} dBFS (target {pa.level_db})")
    syllables = sum(len(tone_contours(transcribe(r.text, r.voice))) for _, r, _, _ in rows)
    print(f"phonemes: {syllables} tonal syllables for {sum(h for *_, h in rows)} Han characters")
    if args.keep:
        print(f"WAVs in {tmp / 'cache'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
