"""What a prompt claims about the outside world, and the fact that must be true before it is said.

voice/prompts.toml declares it per prompt:

    claims = "sent"                        # the fact this prompt states (CLAIMS below)
    unless = "sensors_fire_alarm_offline"  # said instead while the fact does not hold (else: nothing)
    then = "alarm_delivered"               # (on the `unless` prompt) said once the fact holds, while
                                           # the alarm still waits for a person

A prompt that claims something is said `about=` an alarm (its opening event's id, or a joined one):
`ctx.say("fall_alarm", about=event.id)`. The speech queue (hub.speech.queue) asks the alarm registry
(hub.alarms.registry, a `Facts`) whether the fact holds when the prompt comes up to be said, not when
it was queued, so a prompt that waited behind another one is still true when heard.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

log = logging.getLogger(__name__)
CLAIM_GRACE_S = 1.0  # "已通知社区" waits this long for a PUBACK that is due, before the offline wording

# The facts a prompt may claim, and what makes each one true.
CLAIMS = {
    "saved": "the alarm's event is committed to the outbox database",
    "sent": "the broker's PUBACK for the alarm's event (ctx.on_delivered)",
    "received": "a person acknowledged the alarm (cmd/ack, an SMS \"1\", a DTMF 1)",
    "coming": "the person who acknowledged said they are on their way",
    "texted": "the modem's +CMGS for an SMS about the alarm",
    "pending": "the alarm still waits for a person: nobody has acknowledged it",
}


@dataclass(frozen=True)
class Claim:
    claims: str
    unless: str | None = None
    then: str | None = None


class Facts(Protocol):
    def holds(self, ref: str, claim: str) -> bool | None:
        """Whether `claim` is true of the alarm `ref` (None: no such alarm known)."""
        ...

    def when(self, ref: str, claim: str, callback: Callable[[], None]) -> None:
        """Call `callback` once `claim` becomes true of `ref` (at once if it already is)."""
        ...

    def expected(self, ref: str, claim: str) -> bool:
        """The fact does not hold yet but is due any moment (online: the PUBACK is on its way)."""
        ...


@cache
def claims() -> dict[str, Claim]:
    """Prompt key -> what it claims (only prompts with `claims`; `then`-only prompts too)."""
    raw = tomllib.loads(resources.files("voice").joinpath("prompts.toml").read_text(encoding="utf-8"))
    out: dict[str, Claim] = {}
    for key, entry in raw.items():
        claim = entry.get("claims")
        if claim is None and "then" not in entry:
            continue
        if claim is not None and claim not in CLAIMS:
            raise ValueError(f"voice/prompts.toml: [{key}] claims {claim!r}; known: {', '.join(CLAIMS)}")
        for other in ("unless", "then"):
            if entry.get(other) is not None and entry[other] not in raw:
                raise ValueError(f"voice/prompts.toml: [{key}] {other} = {entry[other]!r}: no such prompt")
        out[key] = Claim(claim or "", entry.get("unless"), entry.get("then"))
    return out


def awaited(segments: list[Segment], facts: Facts | None) -> list[tuple[str, str]]:
    """(alarm, claim) of the segments whose fact is due any moment: worth CLAIM_GRACE_S of silence
    rather than the offline wording (a PUBACK from a live broker takes milliseconds)."""
    table = claims()
    out = []
    for key, _fields, about in segments:
        claim = table.get(key)
        if claim is None or not claim.claims or claim.unless is None or about is None or facts is None:
            continue
        if not facts.holds(about, claim.claims) and facts.expected(about, claim.claims):
            out.append((about, claim.claims))
    return out


def claim_of(key: str) -> str | None:
    found = claims().get(key)
    return found.claims if found is not None and found.claims else None


Segment = tuple[str, dict[str, Any], str | None]  # (prompt key, fields, the alarm it is about)


def vet(segments: list[Segment], facts: Facts | None,
        resumed: bool = False) -> tuple[list[Segment], list[tuple[str, str, str]]]:
    """The segments to say now: each claim whose fact holds as it is, else its `unless` prompt (checked in
    turn), else nothing; and the (alarm, claim, `then` prompt) promises the `unless` prompts made.
    `resumed`: the utterance was interrupted and resumes; its wording is not changed half-way."""
    table = claims()
    out: list[Segment] = []
    promises: list[tuple[str, str, str]] = []
    for key, fields, about in segments:
        current: str | None = key
        while current is not None:
            claim = table.get(current)
            if claim is None or not claim.claims:
                break
            if about is None or facts is None:
                log.warning("prompt %s claims %r but names no alarm (about=): said unchecked", current, claim.claims)
                break
            if facts.holds(about, claim.claims):
                break
            if resumed or claim.unless is None:
                current = None
                break
            instead = table.get(claim.unless)
            if instead is not None and instead.then:
                promises.append((about, claim.claims, instead.then))
            current = claim.unless
        if current is not None:
            out.append((current, fields, about))
    return out, promises


class ClaimGate:
    """The speech queue's side of the claims: which segments to say now, and the `then` lines promised."""

    GRACE_S = CLAIM_GRACE_S

    def __init__(self, say: Callable[[str, str], Any]) -> None:
        self.facts: Facts | None = None
        self._say = say  # (prompt key, about): queue a prompt
        self._promised: set[tuple[str, str]] = set()  # (alarm, `then` prompt) already promised

    async def settle(self, segments: list[Segment]) -> None:
        """Online, the fact a prompt claims ("sent": the PUBACK) is due in milliseconds: wait for it a
        little rather than say the alarm is not out yet."""
        due = awaited(segments, self.facts)
        if not due or self.facts is None:
            return
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = [loop.create_future() for _ in due]
        for (about, claim), future in zip(due, futures, strict=True):
            self.facts.when(about, claim, functools.partial(_resolve, future))
        await asyncio.wait(futures, timeout=self.GRACE_S)

    def check(self, segments: list[Segment], resumed: bool) -> list[Segment] | None:
        """The segments to say (the same list when nothing changes), or None: nothing of it is true now.
        `resumed`: an interrupted utterance goes on only if every claim in it still holds."""
        if not any(key in claims() for key, _f, _a in segments):
            return segments
        kept, promises = vet(segments, self.facts, resumed)
        if resumed:
            return segments if kept == segments else None
        for about, claim, then in promises:
            if (about, then) not in self._promised and self.facts is not None:
                self._promised.add((about, then))
                self.facts.when(about, claim, functools.partial(self._kept, about, then))
        if not kept:
            return None
        return segments if kept == segments else kept

    def _kept(self, about: str, then: str) -> None:
        """The fact an `unless` prompt said was missing now holds: say so, if a person still has to act."""
        self._promised.discard((about, then))
        if self.facts is not None and self.facts.holds(about, "pending"):
            self._say(then, about)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
