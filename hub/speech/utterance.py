"""What the speech queue says (hub.speech.queue): an utterance, the parts it is said in, and the record
of what was heard of it.

An utterance is one prompt, or prompts said as one (`then=`: a reading and its advice), in each of the
renderer's languages; each language's text of each prompt is a part, rendered to a WAV when it comes to
be said. A part interrupted by a more urgent prompt keeps the seconds already heard and resumes there.
Each time the queue stops playing an utterance, it records what the resident heard (`heard_entry`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# (key, fields, the alarm it is about) of each prompt said in the utterance, in order
Segments = list[tuple[str, dict[str, Any], str | None]]


@dataclass
class Part:
    language: str
    text: str
    key: str = ""
    fields: dict[str, Any] | None = None
    wav: Path | None = None  # rendered when it comes to be said
    offset: float = 0.0  # seconds already heard (an interrupted part resumes here)


@dataclass
class Utterance:
    key: str
    level: int
    volume: int | None
    seq: int
    fields: dict[str, Any]
    parts: list[Part]
    done: asyncio.Future[dict[str, Any]]
    cancelled: bool = False
    superseded: bool = False  # a newer prompt on the same topic: stop at the next pause
    about: str | None = None  # the alarm it is about (hub.speech.claims)
    segments: Segments | None = None  # (key, fields, about) said as one
    vetted: bool = False
    asked: tuple[str, str | None] = ("", None)  # (text, about) as asked, before a claim's gate reworded it

    @property
    def text(self) -> str:
        return " / ".join(p.text for p in self.parts)


def heard_entry(u: Utterance | None, text: str, start: float, end: float, *, played: bool,
                interrupted: bool = False, key: str | None = None, cut: bool = False,
                wav: Path | None = None, about: Utterance | None = None) -> dict[str, Any]:
    """The record of one stretch of playing (`recent()`, hub.speech.record): `u` when it is done with,
    `about` the utterance an interrupted stretch was part of; neither for the chime."""
    of = u or about
    entry: dict[str, Any] = {
        "key": key or (u.key if u else ""), "text": text, "about": of.about if of else None,
        "start": round(start, 3), "end": round(end, 3), "at": time.time(), "played": played,
        "wav": str(wav) if wav else None}
    if of is not None and of.segments is not None and len(of.segments) > 1:
        entry["with"] = [[k, a] for k, _f, a in of.segments[1:]]  # said in the same breath
    if interrupted:
        entry["interrupted"] = True  # resumes after the more urgent prompt
    if cut:
        entry["cut"] = True  # a newer prompt on the same topic made the rest moot
    if u is not None and u.cancelled:
        entry["cancelled"] = True
    return entry
