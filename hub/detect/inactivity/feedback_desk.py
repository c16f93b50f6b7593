"""The operator's verdicts reaching the hub: `cmd/feedback` and `cmd/feedback_revert` from the
platform, `hub feedback list|revert ID` at the unit (docs/detection.md, "Learning from the operator").
Each accepted change is logged and handed to `changed` (the component sets the detector's scale,
saves the book and updates its status); a refused one is logged and its reason returned.

The platform hears the outcome of each of its commands: `feedback.recorded` once the verdict is stored
(or taken back), `feedback.refused` with a reason code otherwise (at most `REFUSALS_PER_MIN` a minute;
the rest are only logged, so a flood of bad commands cannot flood the uplink). Before, a verdict with a
typo was only logged at the unit and the platform believed it had counted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from hub.core.platform_commands import TokenBucket
from hub.detect.inactivity.feedback import FeedbackBook, FeedbackError

log = logging.getLogger("hub.detect.inactivity.component")  # the component's log, as before the split
REFUSALS_PER_MIN = 6
Report = Callable[[str, dict[str, Any]], Awaitable[Any]]


class FeedbackDesk:
    def __init__(self, book: FeedbackBook, now: Callable[[], datetime],
                 changed: Callable[[float], Awaitable[None]], report: Report,
                 monotonic: Callable[[], float]) -> None:
        self.book = book
        self._now = now
        self._changed = changed
        self._report = report
        self._monotonic = monotonic
        self._refusals = TokenBucket(REFUSALS_PER_MIN / 60, REFUSALS_PER_MIN)

    async def feedback(self, body: dict[str, Any]) -> None:
        await self._platform(body, lambda: self.book.apply(body, self._now()), "applied")

    async def revert(self, body: dict[str, Any]) -> None:
        await self._platform(body, lambda: self.book.revert(body), "reverted")

    async def control(self, body: dict[str, Any]) -> dict[str, Any]:
        """`hub feedback list|revert ID` at the unit: the stored verdicts, or take one back."""
        if body.get("action") == "revert":
            error = await self._change(lambda: self.book.revert(body), "reverted at the unit")
            if isinstance(error, FeedbackError):
                return {"ok": False, "error": str(error)}
        return {"ok": True, "scale": self.book.scale, "entries": self.book.entries}

    async def _platform(self, body: dict[str, Any], change: Callable[[], dict[str, Any]], action: str) -> None:
        outcome = await self._change(change, action)
        fid = body.get("feedback_id")
        fid = fid if isinstance(fid, str) and len(fid) <= 64 else None
        if isinstance(outcome, FeedbackError):
            if self._refusals.take(self._monotonic()):
                await self._report("feedback.refused", {"feedback_id": fid, "reason": outcome.reason,
                                                        "detail": str(outcome)[:200]})
            return
        await self._report("feedback.recorded", {
            "feedback_id": outcome["feedback_id"], "action": action, "verdict": outcome["verdict"],
            "alarm_id": outcome.get("alarm_id"), "at": outcome.get("at"), "scale": outcome["scale"]})

    async def _change(self, change: Callable[[], dict[str, Any]], what: str) -> dict[str, Any] | FeedbackError:
        try:
            entry = change()
        except FeedbackError as exc:
            log.warning("inactivity feedback refused: %s", exc)
            return exc
        log.warning("inactivity feedback %s %s: %s on %s -> this home's limits x%.2f", what, entry["feedback_id"],
                    entry["verdict"], entry.get("alarm_id") or entry.get("at"), entry["scale"])
        await self._changed(entry["scale"])
        return entry
