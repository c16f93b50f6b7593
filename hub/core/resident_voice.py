"""The coordinator's side of what the resident hears and sees: `ctx.say`, `ctx.speak`, `ctx.ask`,
`ctx.feedback`, over the speech queue and LEDs (hub.speech) the coordinator owns.

A mixin of hub.core.app.Hub, kept apart so the coordinator stays one screen of wiring: the one rule
here is that "calling the community" waits for the broker's PUBACK (SAY_WHEN_DELIVERED).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from hub.core.files import scratch_dir
from hub.core.uplink.session import Uplink
from hub.speech.feedback import Feedback
from hub.speech.questions import PressAnswers, Question
from hub.speech.queue import SpeechQueue

log = logging.getLogger(__name__)

SAY_WHEN_DELIVERED = {"call_raising"}
DELIVERY_GRACE_S = 1.0  # a PUBACK later than this: tell the resident the call is saved and being sent


class ResidentVoice:
    speech: SpeechQueue | None
    leds: Feedback | None
    uplink: Uplink | None
    _answers: PressAnswers

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        raise NotImplementedError  # hub.core.app.Hub

    def say(self, prompt: str, **fields: Any) -> None:
        if prompt in SAY_WHEN_DELIVERED and self.uplink is not None and self.uplink.watch.awaiting:
            # "Calling the community" is said once the broker has the call (its PUBACK), not while
            # the call may be sitting on a dead link: until then the resident hears "saved, sending".
            self.spawn(f"say.{prompt}", self._say_when_delivered(prompt, fields))
            return
        self._say_now(prompt, **fields)

    async def _say_when_delivered(self, prompt: str, fields: dict[str, Any]) -> None:
        assert self.uplink is not None
        if not await self.uplink.delivered(DELIVERY_GRACE_S):
            self._say_now("call_sending")
            self.feedback("sending")
            await self.uplink.delivered(None)
            if self.leds is not None and self.leds.current == "sending":
                self.feedback("calling")
        self._say_now(prompt, **fields)

    def _say_now(self, prompt: str, **fields: Any) -> None:
        if self.speech is not None:
            try:
                self.speech.say(prompt, **fields)
            except Exception:
                log.exception("cannot say %s", prompt)

    async def speak(self, prompt: str, **fields: Any) -> dict[str, Any] | None:
        if self.speech is None:
            return None
        try:
            return await self.speech.speak(prompt, **fields)
        except Exception:
            log.exception("cannot say %s", prompt)
            return None

    def ask(self, prompt: str) -> Question:
        assert self.speech is not None
        return self._answers.ask(self.speech, prompt)

    def feedback(self, pattern: str) -> None:
        if self.leds is not None:
            self.leds.show(pattern)

    def _card_failing(self) -> None:
        # Prompts not yet rendered could not be written to the card: render them in RAM from now on,
        # so the resident hears "存储故障…" and "呼叫已发出" (the cached ones stay readable anyway).
        if self.speech is not None:
            self.speech.move_cache(scratch_dir("voice-cache"))

