"""Where the inactivity component keeps what it learned across restarts, in `state_dir`: the routine's
history (`inactivity.log`, appended, hub/detect/inactivity/history.py) and the operator's verdicts
(`inactivity_feedback.json`). Unreadable files are set aside or ignored with a warning, never fatal:
the hub learns again rather than not watching at all. Called in a worker thread (blocking I/O).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

from hub.core.files import atomic_write
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.feedback import FeedbackBook
from hub.detect.inactivity.history import History

log = logging.getLogger("hub.detect.inactivity.component")  # the component's log, as before the split


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.history = History(state_dir)
        self.path = self.history.path
        self.feedback_path = state_dir / "inactivity_feedback.json"

    def load(self, det: InactivityDetector, book: FeedbackBook) -> None:
        """The operator's verdicts into `book`, then the learned history into `det`."""
        self._load_feedback(book)
        try:
            data = self.history.load()
            if data is None:
                log.info("inactivity: no history yet at %s; learning from scratch", self.path)
                return
            kept = det.load(data)
            log.info("inactivity: restored %d learned gaps from %s", kept, self.path)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            bad = self.history.legacy if self.history.legacy.exists() else self.path
            aside = bad.with_suffix(".bad")
            log.warning("inactivity: history %s unreadable (%s); moved to %s, learning again",
                        bad, exc, aside)
            with contextlib.suppress(OSError):
                os.replace(bad, aside)

    def save(self, det: InactivityDetector) -> bool:
        """The history; False (logged) if it could not be written."""
        try:
            self.history.save(det.to_dict())
            return True
        except OSError as exc:
            log.warning("inactivity: cannot save history to %s: %s", self.path, exc)
            return False

    def _load_feedback(self, book: FeedbackBook) -> None:
        try:
            book.load(json.loads(self.feedback_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("inactivity: operator feedback %s unreadable (%s); starting without it",
                        self.feedback_path, exc)

    def save_feedback(self, book: FeedbackBook) -> None:
        try:
            self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.feedback_path, json.dumps(book.to_dict(), ensure_ascii=False).encode())
        except OSError as exc:
            log.warning("inactivity: cannot save operator feedback to %s: %s", self.feedback_path, exc)
