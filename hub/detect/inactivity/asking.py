"""The spoken inactivity question while it waits for an answer: "您还好吗？…" at the first check,
`recheck_after_s` later again at `recheck_volume` ("…再没有回应，我们就通知社区"), each after a
chirp; closed by an answer, the alarm or shutdown. While it is open a press answers it and raises no
call (hub.speech.questions)."""

from __future__ import annotations

from hub.core.context import HubContext
from hub.speech.questions import Question


class Asking:
    def __init__(self, recheck_volume: int) -> None:
        self.recheck_volume = recheck_volume  # the second question's loudness
        self._question: Question | None = None

    async def ask(self, ctx: HubContext, again: bool) -> None:
        """Ask the first question, or (`again`) the second, louder one; either closes the one before."""
        self.close()
        self._question = ctx.ask("inactivity_recheck" if again else "inactivity_check")  # a press: no call
        ctx.feedback("chirp")
        await self._question.ask(volume=self.recheck_volume if again else None)

    def close(self) -> None:
        if self._question is not None:
            self._question.close()
            self._question = None
