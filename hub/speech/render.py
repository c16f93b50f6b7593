"""The voice side of the speech queue (hub.speech.queue): prompt key + fields -> what is said and its
WAV, through voice.speaker (a voice pack's recording, else normalised espeak-ng TTS at one loudness);
how urgent each prompt is, and which words were heard when a prompt was interrupted in one of the
pauses of its WAV. `prerender` fills the cache ahead of need ([voice] prerender).
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, Protocol

from hub.speech.claims import claims
from hub.speech.player import chime
from voice.catalogue import catalogue, fields_of
from voice.library import PromptAudio
from voice.speaker import Speaker

log = logging.getLogger(__name__)
INFO, IMPORTANT, URGENT = 1, 2, 3
VOICE_CALL = (*(f"voice_{state}_{who}" for state in ("dialing", "connected")
                 for who in ("duty", "doctor", "family", "neighbour")),
              "voice_connected_caller", "voice_call_ended", "voice_nobody_answered",  # hub.voicecall: call state
              "voice_nobody_confirmed",
              *(f"voice_phoned_{who}" for who in ("duty", "doctor", "family", "neighbour")),  # ... by the modem
              "cellular_call_answered")  # hub.cellular: a call by the modem was picked up
# hub.escalation: who is being told, who is coming
ESCALATION = ("escalation_notifying", "escalation_answered", "escalation_coming", "escalation_nobody")
LEVELS: dict[str, int] = {
    **dict.fromkeys(("call_raising", "call_offline", "call_cancelled", "call_acknowledged", "call_repeat",
                     "call_acknowledged_by", "alarm_acknowledged", "alarm_acknowledged_by", "acknowledged_about",
                     "acknowledged_about_by", "call_delivered", "test_call_acknowledged", "test_call_acknowledged_by",
                     "call_sending", "sensors_fire_alarm", "sensors_fire_alarm_in", "sensors_heat_rise_alarm",
                     "fall_check",
                     "fall_cancelled", "fall_alarm", "inactivity_alarm", *VOICE_CALL, *ESCALATION), URGENT),
    **dict.fromkeys(("call_no_answer", "alarm_reminder", "alarm_delivered",
                     "inactivity_check", "inactivity_recheck", "sensors_heat_alarm", "sensors_cold_alarm",
                     "sensors_fire_cleared", "sensors_fire_cleared_in", "sensors_power_lost", "sensors_battery_low",
                     "health_bp_very_high", "health_glucose_very_high", "health_glucose_low",
                     "checkin_question", "checkin_missed", "fall_recovered_check"), IMPORTANT),
    # hub.notices: never over an alarm's words (URGENT), before the day's chatter
    **dict.fromkeys(("notice_critical", "notice_action", "notice_recording", "reminder_medication",
                     "reminder_measure_bp", "reminder_measure_glucose"), IMPORTANT),
}  # every other prompt is INFO
# hub.zigbee: gas and CO are as urgent as fire; a leak and the valve's news are important
LEVELS.update({**dict.fromkeys(("zigbee_gas_alarm", "zigbee_co_alarm", "zigbee_gas_valve_fault",
                                 "zigbee_water_valve_fault"), URGENT),
               **dict.fromkeys(("zigbee_water_alarm", "zigbee_gas_valve_closed", "zigbee_water_valve_closed"),
                               IMPORTANT)})
LEVELS.update(dict.fromkeys(("trigger_not_heard", "trigger_battery_low", "trigger_test_ask"), IMPORTANT))
# The offline wording said instead of a claim (hub.speech.claims: `unless`) is as urgent as the claim.
LEVELS.update({claim.unless: LEVELS[key] for key, claim in claims().items() if claim.unless and key in LEVELS})
# A newer prompt about the same thing makes an older one moot: "已取消呼叫" drops a waiting
# "正在呼叫社区" and cuts one being spoken at its next clause.
TOPICS: dict[str, str] = {
    **dict.fromkeys(("call_raising", "call_offline", "call_repeat", "call_cancelled", "call_acknowledged",
                     "call_acknowledged_by", "call_no_answer", "call_delivered", "call_sending",
                     "acknowledged_about", "acknowledged_about_by", "test_call_acknowledged",
                     "test_call_acknowledged_by"), "call"),  # scoped by `about`: its own alarm's
    **dict.fromkeys(("fall_check", "fall_cancelled", "fall_alarm", "fall_recovered_check"), "fall"),
    **dict.fromkeys(VOICE_CALL, "voice_call"),
    # "正在通知女儿" then "女儿已收到": the newer one supersedes; "电话已打通" waits for its turn
    **dict.fromkeys(("escalation_notifying", "escalation_coming", "escalation_nobody"), "escalation"),
    **dict.fromkeys(("inactivity_check", "inactivity_recheck", "inactivity_ok", "inactivity_alarm"), "inactivity"),
    **dict.fromkeys(("sensors_fire_alarm", "sensors_fire_alarm_in", "sensors_fire_cleared", "sensors_fire_cleared_in",
                     "sensors_heat_rise_alarm", "sensors_heat_rise_cleared"), "fire"),
}


def in_order(key: str) -> bool:
    """Said in the order they came, whatever their level: advice never before its own reading, nor
    before an older reading still waiting (hub.health: the reading and its advice are one utterance).
    The catalogue's health_ prompts, by name: not by parsing the catalogue at import (~6 ms of start-up;
    an unknown key is refused where it is rendered)."""
    return key.startswith("health_")


SENTENCE_END = "。！？；!?;"
LATIN_MARKS = frozenset("!?;,.")
_CLAUSE = re.compile(r"(?<=[。！？；，!?;,])\s*")


def level_of(key: str) -> int:
    return LEVELS.get(key, INFO)


def clauses(text: str) -> list[str]:
    """Split at sentence and clause marks, keeping each mark with its clause (the pre-emption points)."""
    return [part for part in _CLAUSE.split(text) if part.strip()]


class Renderer(Protocol):
    """Prompt key + fields -> what is said and its WAV (voice.speaker.Speaker through SpeakerRenderer)."""

    languages: list[str]  # spoken one after the other ("zh", then "en" with also_english)

    def text(self, key: str, language: str, **fields: Any) -> str: ...

    def render(self, key: str, language: str, volume: int | None, **fields: Any) -> Path:
        """Blocking: the whole prompt as a WAV."""
        ...

    def move_cache(self, cache_dir: Path) -> None:
        """Render into `cache_dir` from now on (the SD card refuses writes: hub.core.storage_watch)."""
        ...


class SpeakerRenderer:
    """voice.speaker.Speaker as a Renderer: recordings from the voice pack, else normalised TTS."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.languages = [speaker.language] + (["en"] if speaker.also_english and speaker.language == "zh" else [])

    def text(self, key: str, language: str, **fields: Any) -> str:
        return PromptAudio.text(key, language, **fields)

    def render(self, key: str, language: str, volume: int | None, **fields: Any) -> Path:
        if key == "notice_recording" and language == "zh" and "recording" in fields:  # checked on arrival
            return Path(fields["recording"])
        return self.speaker.audio.render(key, language, self.speaker.volume if volume is None else volume,
                                         **fields).wav

    def move_cache(self, cache_dir: Path) -> None:
        self.speaker.move_cache(cache_dir)


async def prerender(renderer: Renderer, cache_dir: Path, keys: list[str] | None = None) -> None:
    """Render these prompts (default: every one without fields) and the chime into the cache ahead of
    need, on a worker thread, so the first fall alarm is not kept waiting by espeak-ng."""
    if keys is None:
        keys = sorted(key for key, p in catalogue().items() if not fields_of(p))
    try:
        await asyncio.to_thread(chime, cache_dir, 100)
        for key in keys:
            for language in renderer.languages:
                await asyncio.to_thread(renderer.render, key, language, None)
    except Exception as exc:  # no espeak-ng: said once when a prompt is due
        log.debug("speech warm-up stopped: %s", exc)


def heard_text(text: str, stops: list[float], start: float, end: float | None) -> str:
    """The words heard from `start` to `end` seconds into the WAV (None: to its end): whole clauses,
    when the WAV has one pause per clause mark; otherwise the text if heard whole, else "…"."""
    parts = clauses(text)
    if len(stops) != len(parts) - 1:
        return text if start == 0 and end is None else "…"
    first = sum(1 for t in stops if t <= start)
    last = len(parts) if end is None else sum(1 for t in stops if t <= end)
    # The split dropped the space after a Latin mark: put it back ("alarm; staff", not "alarm;staff").
    return "".join(part + " " if part[-1] in LATIN_MARKS and i < last - 1 else part
                   for i, part in enumerate(parts[first:last], start=first))


def sentence_stops(text: str, stops: list[float]) -> list[float]:
    """Of a WAV's pauses (one per clause mark), those at the end of a sentence: where a more urgent
    prompt may break in. None when the pauses do not match the clauses: then the prompt is said whole."""
    parts = clauses(text)
    if len(stops) != len(parts) - 1:
        return []
    return [t for t, part in zip(stops, parts, strict=False) if part.rstrip()[-1:] in SENTENCE_END]


def joined(heard: list[str]) -> str:
    """The words heard, part after part: a reading and its advice read as two sentences."""
    out = ""
    for piece in heard:
        out += ("" if not out or not piece or out[-1] in "。！？；，,.!?;…" else "。") + piece
    return out
