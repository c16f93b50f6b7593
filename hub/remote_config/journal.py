"""What remote configuration must remember across restarts and power cuts, and the file writes.

`state_dir/remote-config.json` (hub.core.files.atomic_write: fsync, rename, fsync the directory):

- `seen_version`: the newest desired version acted on (applied, unchanged, refused or rolled back);
  a desired document not newer than it is ignored, so a rolled-back version is not tried again.
- `applied_version`: the version whose config is in effect (0: none from the platform yet).
- `pending`: a change under way — written *before* hub.toml is, so each start knows where it stopped:
  the file's SHA-256 tells whether the new file was written (`new_sha256`), not yet (`previous_sha256`),
  or changed by someone else; `phase` is `apply`, then `rolling_back` when the guard gave up.
- `report`: the last `config/reported` document, published again on every start.
- `held`: a document that changes the unit's wiring (buttons, pins), held until a technician runs
  `hub config apply` on the unit: its version, raw payload and the keys to confirm. It does not advance
  `seen_version`; a newer document replaces it.

`state_dir/remote-config.previous.toml` is the file as it was before a change that needs a restart; a
rollback writes it back. hub.toml itself is written as `hub provision` writes it (hub.provision.writer):
the old file kept as `hub.toml.bak`, then the new one atomically, mode 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub.config import toml_out
from hub.core.files import atomic_write

log = logging.getLogger(__name__)

STATE_FILE = "remote-config.json"
PREVIOUS_FILE = "remote-config.previous.toml"


@dataclass
class Journal:
    path: Path
    seen_version: int = 0
    applied_version: int = 0
    pending: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    held: dict[str, Any] | None = None

    @classmethod
    def load(cls, state_dir: Path) -> Journal:
        path = state_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            # Written atomically, so only a failing card gets here: start afresh (the platform's retained
            # document is applied again) rather than not start.
            log.error("cannot read %s (%s): remote configuration starts afresh", path, exc)
            return cls(path)
        if not isinstance(data, dict):
            log.error("%s is not a JSON object: remote configuration starts afresh", path)
            return cls(path)
        return cls(path, int(data.get("seen_version") or 0), int(data.get("applied_version") or 0),
                   data.get("pending") if isinstance(data.get("pending"), dict) else None,
                   data.get("report") if isinstance(data.get("report"), dict) else None,
                   data.get("held") if isinstance(data.get("held"), dict) else None)

    def save(self) -> None:
        body = {k: v for k, v in asdict(self).items() if k != "path"}
        atomic_write(self.path, (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode())

    @property
    def previous_path(self) -> Path:
        return self.path.with_name(PREVIOUS_FILE)

    def keep_previous(self, content: bytes) -> None:
        atomic_write(self.previous_path, content)

    def forget_previous(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.previous_path.unlink()


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def sha256(path: Path) -> str | None:
    try:
        return digest(path.read_bytes())
    except FileNotFoundError:
        return None


def render(tables: dict[str, Any], version: int, when: str) -> bytes:
    header = (f"# Written by remote configuration (desired version {version}, {when}); the previous file\n"
              "# is hub.toml.bak. Keep mode 0600 (it may hold credentials); docs/fleet.md.\n")
    return (header + toml_out.dumps(tables)).encode("utf-8")


def write_config(path: Path, content: bytes) -> None:
    """Provisioning's rule: the old file to `.bak`, then the new one atomically."""
    if path.exists():
        atomic_write(path.with_name(path.name + ".bak"), path.read_bytes())
    atomic_write(path, content)
