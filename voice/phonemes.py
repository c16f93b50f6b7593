"""Does this espeak-ng voice read Han characters as Mandarin? Ask espeak-ng itself, and choose by the answer.

espeak-ng 1.51 (Debian 12, Raspberry Pi OS Bookworm) ships a `cmn` voice that reads Han characters as
pinyin spelled out in English ("yi three, qu three": `espeak-ng -x -v cmn 已取消` prints `(en)jI55Tr'i:55…`),
while `cmn-latn-pinyin` of the same release reads them as Mandarin syllables (`j'i35_| tS;h'y21_| …`).
So the voice is picked by what its phoneme transcription (`espeak-ng -q -x`) shows for a probe
sentence: no switch to another language, one syllable with a tone contour per Han character. The
verdicts are cached per espeak-ng build in state_dir/voice-probe.json (written atomically).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from voice.audio import write_atomic
from voice.tts import TtsUnavailable, espeak_binary, espeak_version

log = logging.getLogger(__name__)

HAN = re.compile(r"[\u4e00-\u9fff]")
SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[a-z0-9]+)*)\)")  # espeak-ng marks a language switch "(en)"
TONE = re.compile(r"[0-9]{2,3}")  # a Mandarin syllable carries a tone contour: 55, 35, 214, 21, 51 (or neutral 11..44)
PROBE = "社区已收到报警，工作人员马上联系您"
AUTO = "auto"
# Tried in this order by "auto": `cmn` first where it works (espeak-ng >= 1.52: Latin words stay English).
CANDIDATES = ("cmn", "cmn-latn-pinyin", "zh", "sit/cmn-Latn-pinyin")
PROBE_FILE = "voice-probe.json"


@dataclass(frozen=True)
class Verdict:
    voice: str
    ok: bool
    han: int
    syllables: int
    switches: tuple[str, ...]
    phonemes: str
    reason: str = ""


@dataclass(frozen=True)
class Choice:
    voice: str  # the voice to synthesise with
    configured: str
    espeak: str  # espeak-ng's version line
    refused: str = ""  # why the configured voice is not used (for the log and `hub voice check`)
    mandarin: bool = True  # False: no installed voice reads Mandarin; `voice` is the configured one regardless


def transcribe(text: str, voice: str) -> str:
    """espeak-ng's phoneme mnemonics for `text` (`-q -x`, as the contract check runs it)."""
    result = subprocess.run([espeak_binary(), "-q", "-x", "-v", voice, "--", text], capture_output=True,
                            text=True, timeout=60, check=False)
    if result.returncode != 0 or "does not exist" in result.stderr:
        raise TtsUnavailable(f"espeak-ng has no voice {voice!r}: {result.stderr.strip()[-120:]}")
    return result.stdout


def tone_contours(phonemes: str) -> list[str]:
    return TONE.findall(SWITCH.sub(" ", phonemes))


def judge(text: str, voice: str, phonemes: str) -> Verdict:
    """Pure: do these phonemes read every Han character of `text` as one tonal Mandarin syllable?"""
    han = len(HAN.findall(text))
    switches = tuple(SWITCH.findall(phonemes))
    syllables = len(tone_contours(phonemes))
    reason = ""
    if any(s != "cmn" for s in switches):
        reason = f"reads the Han characters as {'/'.join(sorted(set(switches) - {'cmn'}))} (language switch)"
    elif syllables != han:
        reason = f"{han} Han characters but {syllables} tonal syllables"
    return Verdict(voice, not reason, han, syllables, switches, phonemes.strip(), reason)


def check_voice(voice: str, text: str = PROBE) -> Verdict:
    try:
        return judge(text, voice, transcribe(text, voice))
    except TtsUnavailable as exc:
        return Verdict(voice, False, len(HAN.findall(text)), 0, (), "", str(exc))


def short_version(line: str) -> str:
    """"eSpeak NG text-to-speech: 1.51  Data at: …" -> "1.51"."""
    found = re.search(r"\d+\.\d+(?:\.\d+)?", line)
    return found.group(0) if found else line or "(not installed)"


class Prober:
    """Verdicts for voices on this espeak-ng build, cached in state_dir so start-up asks espeak-ng once."""

    def __init__(self, state_dir: Path | None) -> None:
        self.path = state_dir / PROBE_FILE if state_dir else None
        self.espeak = espeak_version()
        self._verdicts: dict[str, Verdict] = self._load()

    def _load(self) -> dict[str, Verdict]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("espeak") != self.espeak or raw.get("probe") != PROBE:
                return {}  # another espeak-ng build (an upgrade): its voices may read differently
            return {v: Verdict(**{**d, "switches": tuple(d["switches"])}) for v, d in raw["voices"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s (%s); probing the voices again", self.path, exc)
            return {}

    def verdict(self, voice: str) -> Verdict:
        if voice not in self._verdicts:
            self._verdicts[voice] = check_voice(voice)
            self._save()
        return self._verdicts[voice]

    def _save(self) -> None:
        if self.path is None:
            return
        body = {"espeak": self.espeak, "probe": PROBE, "voices": {v: asdict(d) for v, d in self._verdicts.items()}}
        try:
            write_atomic(self.path, json.dumps(body, ensure_ascii=False, indent=1).encode())
        except OSError as exc:
            log.warning("cannot cache the voice probe in %s: %s", self.path, exc)

    def choose(self, configured: str) -> Choice:
        """The configured voice if it reads Mandarin, else the first candidate that does (with the reason)."""
        refused = ""
        if configured != AUTO:
            mine = self.verdict(configured)
            if mine.ok:
                return Choice(configured, configured, self.espeak)
            refused = (f"[voice] espeak_voice = {configured!r} 不能读普通话 does not read Mandarin on "
                       f"espeak-ng {short_version(self.espeak)}: {mine.reason}")
        for candidate in CANDIDATES:
            if candidate != configured and self.verdict(candidate).ok:
                if refused:
                    refused += f"; using {candidate!r}. Remedy: set espeak_voice = \"auto\" (or \"{candidate}\")"
                return Choice(candidate, configured, self.espeak, refused)
        fallback = configured if configured != AUTO else CANDIDATES[0]
        reason = (f"no installed espeak-ng voice reads Mandarin (tried {', '.join(CANDIDATES)}); speaking with "
                  f"{fallback!r} anyway. Remedy: apt-get install espeak-ng-data, or use a recorded voice pack")
        return Choice(fallback, configured, self.espeak, f"{refused}; {reason}" if refused else reason, False)
