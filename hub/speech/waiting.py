"""The prompts waiting to be said, and which one the speech queue's worker says next (hub.speech.queue).

Most urgent first (render.LEVELS), then oldest first; a reading or its advice (render.in_order) never
before an older one still waiting. A hold (a question being asked: hub.speech.questions) keeps back
what is less urgent than it. At most MAX_WAITING wait: when one more comes, the least urgent and newest
is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hub.speech.render import URGENT, in_order
from hub.speech.utterance import Utterance

MAX_WAITING = 32


class Waiting:
    def __init__(self) -> None:
        self.prompts: list[Utterance] = []
        self._holds: list[int] = []
        self._changed = asyncio.Event()

    def add(self, u: Utterance) -> Utterance | None:
        """Queue `u`; the prompt dropped to make room for it, if the list was full."""
        dropped = None
        if len(self.prompts) >= MAX_WAITING:
            dropped = min(self.prompts, key=lambda w: (w.level, -w.seq))
            self.prompts.remove(dropped)
        self.prompts.append(u)
        self._changed.set()
        return dropped

    def put_back(self, u: Utterance) -> None:
        """`u` was pre-empted: it waits again, in its old place (its `seq`)."""
        self.prompts.append(u)

    def remove(self, u: Utterance) -> bool:
        if u not in self.prompts:
            return False
        self.prompts.remove(u)
        return True

    def hold(self, level: int) -> Callable[[], None]:
        """Hold back prompts less urgent than `level` until the returned release is called."""
        self._holds.append(level)

        def release() -> None:
            if level in self._holds:
                self._holds.remove(level)
                self._changed.set()
        return release

    def _floor(self) -> int:
        return max(self._holds, default=0)

    async def take(self) -> Utterance:
        """The next prompt to say, once there is one not held back; it no longer waits."""
        while True:
            ready = [u for u in self.prompts if u.level >= self._floor()]
            if ready:
                u = max(ready, key=lambda w: (w.level, -w.seq))
                if in_order(u.key):  # never before an older reading or advice still waiting
                    u = min((w for w in ready if in_order(w.key)), key=lambda w: w.seq)
                self.prompts.remove(u)
                return u
            self._changed.clear()
            await self._changed.wait()

    def urgent_over(self, u: Utterance) -> bool:
        """An URGENT prompt more urgent than `u` waits (and is not held back)."""
        return any(w.level >= URGENT and w.level > u.level and w.level >= self._floor() for w in self.prompts)

    def over(self, u: Utterance) -> bool:
        """A prompt more urgent than `u` waits (and is not held back): `u` stops at its next sentence end."""
        return any(w.level > u.level and w.level >= self._floor() for w in self.prompts)
