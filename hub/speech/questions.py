"""Questions the hub asks aloud and a button press answers ("您摔倒了吗？", "您还好吗？").

While a question is open (`ctx.ask(key)`):
- the first press of ANY call button answers it and raises no call (the call manager asks
  `ctx.claim_press` first), and the question being spoken stops at once;
- except when the resident means "help": a press held ANSWER_HOLD_S still raises that button's call
  (hub.calls.manager), and a second press within SECOND_PRESS_S of an answering press is never an
  answer (Hub.claim_press), so it calls as any press does;
- prompts less urgent than the question wait until it is closed (no "社区暂未应答" in the middle of
  the fall countdown).
The prompts say so: "没事请按一下按钮，需要帮助请按住按钮".

A question with `passthrough = True` ("您刚才是不是摔倒了？需要帮助请按住按钮", after a fall the wearer
got up from) is answered by a press too — it stops being asked — but the press is not claimed: any
press or hold raises that button's call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from hub.speech.queue import SpeechQueue, Utterance, level_of

log = logging.getLogger(__name__)

ANSWER_HOLD_S = 2.0  # an answering press held this long still calls for help
SECOND_PRESS_S = 5.0  # a press this soon after an answering press calls for help


class Question:
    def __init__(self, speech: SpeechQueue, key: str, on_close: Callable[[Question], None] | None = None) -> None:
        self.speech = speech
        self.key = key
        self.answered = asyncio.Event()
        self.pin: int | None = None
        self.closed = False
        self.passthrough = False  # a press answers it and still raises its call
        self._release = speech.hold(level_of(key))
        self._on_close = on_close
        self._current: Utterance | None = None

    def answer(self, pin: int) -> bool:
        """A press: True if it answers this question (the first press while it is open)."""
        if self.closed or self.answered.is_set():
            return False
        self.pin = pin
        self.answered.set()
        if self._current is not None and not self._current.done.done():
            self.speech.cancel(self._current)  # answered: stop asking at once
        log.info("question %s answered by a press on button %s", self.key, pin)
        return not self.passthrough

    async def ask(self, volume: int | None = None, timeout: float | None = None, **fields: Any) -> bool:
        """Speak the question; return once it has been heard, answered, or `timeout` seconds passed
        (then it is cut off). True if answered."""
        if self.answered.is_set() or self.closed:
            return self.answered.is_set()
        u = self._current = self.speech.say(self.key, volume, **fields)
        waiter = asyncio.ensure_future(self.answered.wait())
        try:
            pending: set[asyncio.Future[Any]] = {u.done, waiter}
            await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not u.done.done():
                self.speech.cancel(u)
        return self.answered.is_set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the answer; True if answered."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.answered.wait(), max(0.0, timeout))
        return self.answered.is_set()

    def close(self) -> None:
        """Idempotent: stop speaking it, let held prompts through, stop claiming presses."""
        if self.closed:
            return
        self.closed = True
        if self._current is not None and not self._current.done.done():
            self.speech.cancel(self._current)
        self._release()
        if self._on_close is not None:
            self._on_close(self)


class PressAnswers:
    """Who a press answers, for `ctx.claim_press`: the newest open question, else an `on_press_claim`.

    A press within SECOND_PRESS_S of the last answering press answers nothing: it is a call (unless a
    new question has been asked since)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self.questions: list[Question] = []
        self.claims: list[Callable[[int], bool]] = []
        self._last_answer = -1e9

    def ask(self, speech: SpeechQueue, key: str) -> Question:
        self._last_answer = -1e9  # a new question: the next press answers it, however soon
        question = Question(speech, key, self.questions.remove)
        self.questions.append(question)
        return question

    def claim(self, pin: int) -> bool:
        now = self.monotonic()
        if now - self._last_answer < SECOND_PRESS_S:
            log.info("second press within %.0f s of an answer: a call for help", SECOND_PRESS_S)
            return False
        claimed = any(q.answer(pin) for q in reversed(self.questions))
        for claim in list(self.claims):
            if claimed:
                break
            try:
                claimed = claim(pin)
            except Exception:
                log.exception("press claim failed")  # a broken claimer must not swallow a call
        if claimed:
            self._last_answer = now
        return claimed
