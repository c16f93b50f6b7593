"""The operator's verdicts reaching the hub: `cmd/feedback` and `cmd/feedback_revert` from the
platform, `hub feedback list|revert ID` at the unit (docs/detection.md, "Learning from the operator").
Each accepted change is logged and handed to `changed` (the component sets the detector's scale,
saves the book and updates its status); a refused one is logged and its reason returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from hub.detect.inactivity.feedback import FeedbackBook, FeedbackError

log = logging.getLogger("hub.detect.inactivity.component")  # the component's log, as before the split


class FeedbackDesk:
    def __init__(self, book: FeedbackBook, now: Callable[[], datetime],
                 changed: Callable[[float], Awaitable[None]]) -> None:
        self.book = book
        self._now = now
        self._changed = changed

    async def feedback(self, body: dict[str, Any]) -> None:
        await self._change(lambda: self.book.apply(body, self._now()), "applied")

    async def revert(self, body: dict[str, Any]) -> None:
        await self._change(lambda: self.book.revert(body), "reverted")

    async def control(self, body: dict[str, Any]) -> dict[str, Any]:
        """`hub feedback list|revert ID` at the unit: the stored verdicts, or take one back."""
        if body.get("action") == "revert":
            error = await self._change(lambda: self.book.revert(body), "reverted at the unit")
            if error:
                return {"ok": False, "error": error}
        return {"ok": True, "scale": self.book.scale, "entries": self.book.entries}

    async def _change(self, change: Callable[[], dict[str, Any]], what: str) -> str:
        try:
            entry = change()
        except FeedbackError as exc:
            log.warning("inactivity feedback refused: %s", exc)
            return str(exc)
        log.warning("inactivity feedback %s %s: %s on %s -> this home's limits x%.2f", what, entry["feedback_id"],
                    entry["verdict"], entry.get("alarm_id") or entry.get("at"), entry["scale"])
        await self._changed(entry["scale"])
        return ""
