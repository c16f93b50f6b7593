"""What is true of each alarm, for the speech layer's claims (hub.speech.claims): saved, sent, received,
coming, texted, pending. Fed by the registry (commit, ack), by the uplink's PUBACK (`ctx.on_delivered`)
and by the modem (`texted`); asked by the speech queue when a prompt that claims one comes up.

Facts about an event id (saved, sent) belong to that event: a repeat heat alarm that joined an open one
is "sent" once its own event has its PUBACK. Facts about a person (received, coming, texted) belong to
the alarm and start over when a new event joins it and asks for a new ack. Kept in memory for the last
KEEP alarms, closed ones included, so "社区已收到" is still checked after the ack closed the alarm.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

KEEP = 500
EVENT_FACTS = ("saved", "sent")
PERSON_FACTS = ("received", "coming", "texted")


class AlarmFacts:
    def __init__(self, pending: Callable[[str], bool | None], online: Callable[[], bool] = lambda: False) -> None:
        """`pending(ref)`: True while the alarm waits for a person, False once acknowledged or closed,
        None if no such alarm is open."""
        self._pending = pending
        self._online = online
        self._alarm: collections.OrderedDict[str, str] = collections.OrderedDict()  # event id -> alarm id
        self._facts: dict[str, set[str]] = {}  # event id (saved, sent) or alarm id (the rest) -> facts
        self._waiters: dict[tuple[str, str], list[Callable[[], None]]] = {}

    def opened(self, alarm_id: str, event_id: str, *, saved: bool, sent: bool = False,
               new_ack: bool = False) -> None:
        """An event opened (or joined) `alarm_id`; `new_ack`: it needs a new acknowledgement."""
        self._alarm[event_id] = alarm_id
        self._alarm[alarm_id] = alarm_id
        if new_ack:
            self._facts[alarm_id] = self._facts.get(alarm_id, set()) - set(PERSON_FACTS)
        if saved:
            self.note(event_id, "saved")
        if sent:
            self.note(event_id, "sent")
        while len(self._alarm) > KEEP:
            old, _ = self._alarm.popitem(last=False)
            self._facts.pop(old, None)

    def delivered(self, event_id: str) -> None:
        """The broker's PUBACK for `event_id` (ctx.on_delivered): only alarms' events are kept."""
        if event_id in self._alarm:
            self.note(event_id, "sent")

    def note(self, ref: str, fact: str) -> None:
        owner = self._owner(ref, fact)
        if owner is None:
            return
        self._facts.setdefault(owner, set()).add(fact)
        for callback in self._waiters.pop((owner, fact), []):
            asyncio.get_running_loop().call_soon(callback)

    def holds(self, ref: str, claim: str) -> bool | None:
        if claim == "pending":
            return self._pending(ref)
        owner = self._owner(ref, claim)
        if owner is None:
            return None
        return claim in self._facts.get(owner, set())

    def when(self, ref: str, claim: str, callback: Callable[[], None]) -> None:
        if self.holds(ref, claim):
            asyncio.get_running_loop().call_soon(callback)
            return
        owner = self._owner(ref, claim)
        if owner is not None:
            self._waiters.setdefault((owner, claim), []).append(callback)

    def expected(self, ref: str, claim: str) -> bool:
        """"sent" while the broker link is up: its PUBACK is due any moment."""
        return claim == "sent" and self._online() and self._owner(ref, claim) is not None

    def _owner(self, ref: str, fact: str) -> str | None:
        alarm = self._alarm.get(ref)
        if alarm is None:
            return None
        return ref if fact in EVENT_FACTS else alarm
