"""Events held in the outbox while connected: the broker is not yet known to be the platform's.

A remote change of broker (hub.remote_config) is on trial until the platform answers through the new
broker; events sent there before that could reach no one, and a PUBACK would delete them from the
outbox. So the trial holds them: `state_dir/uplink-hold` names why, written *before* the restart onto
the new broker, and the uplink reads it when it is made, before its first connection. Released at
run time through `HubContext.hold_events("")`, which also removes the file; a rollback removes it
before restarting onto the old broker, where the held events then go out.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from hub.core.files import atomic_write

log = logging.getLogger(__name__)

HOLD_FILE = "uplink-hold"


def read_hold(state_dir: Path) -> str:
    try:
        return (state_dir / HOLD_FILE).read_text(encoding="utf-8").strip() or "held"
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:  # unreadable: sending beats holding for ever
        log.error("cannot read %s (%s): events are not held", state_dir / HOLD_FILE, exc)
        return ""


def write_hold(state_dir: Path, reason: str) -> None:
    """Blocking (fsync): call from a thread. '' removes the hold."""
    if reason:
        atomic_write(state_dir / HOLD_FILE, reason.encode("utf-8"))
    else:
        with contextlib.suppress(FileNotFoundError):
            (state_dir / HOLD_FILE).unlink()
