"""What must survive a restart, written when it changes (a notice accepted, confirmed, expired; a
reminder's due time confirmed or missed), never per repeat: state_dir/notices/state.json, and each
accepted recording beside it as a WAV at the common loudness."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.core.files import atomic_write
from hub.notices.command import Notice

log = logging.getLogger(__name__)

FOLDER = "notices"
SEEN_MAX = 256  # ids remembered against replays; the oldest are forgotten first
DONE_MAX = 256


class NoticeStore:
    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / FOLDER
        self.path = self.folder / "state.json"
        self.seen: dict[str, str] = {}  # notice id -> digest of what it said
        self.done: dict[str, str] = {}  # reminder ref -> "confirmed" | "missed"
        self.pending: list[Notice] = []

    def recording(self, notice_id: str) -> Path:
        return self.folder / f"rec-{base64.urlsafe_b64encode(notice_id.encode()).decode().rstrip('=')}.wav"

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.seen = {str(k): str(v) for k, v in raw.get("seen", {}).items()}
            self.done = {str(k): str(v) for k, v in raw.get("done", {}).items()}
            self.pending = [_notice(d) for d in raw.get("pending", [])]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("notices: ignoring unreadable %s (%s)", self.path, exc)

    def save(self) -> None:
        while len(self.seen) > SEEN_MAX:
            self.seen.pop(next(iter(self.seen)))
        while len(self.done) > DONE_MAX:
            self.done.pop(next(iter(self.done)))
        body = {"pending": [_plain(n) for n in self.pending], "seen": self.seen, "done": self.done}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(body, ensure_ascii=False).encode())
        except OSError as exc:  # a failing card: the notice is still said, it just would not survive a restart
            log.warning("notices: cannot write %s: %s", self.path, exc)

    def forget(self, notice_id: str) -> None:
        self.pending = [n for n in self.pending if n.id != notice_id]
        self.recording(notice_id).unlink(missing_ok=True)


def _plain(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "priority": n.priority, "expires": n.expires.isoformat(), "text": n.text,
            "audio": n.audio is not None, "repeat_s": n.repeat_s, "quiet_hours": n.quiet_hours, "confirm": n.confirm}


def _notice(d: dict[str, Any]) -> Notice:
    return Notice(d["id"], d["priority"], datetime.fromisoformat(d["expires"]), d.get("text"),
                  b"" if d.get("audio") else None, repeat_s=d.get("repeat_s"), quiet_hours=d.get("quiet_hours"),
                  confirm=bool(d.get("confirm")))
