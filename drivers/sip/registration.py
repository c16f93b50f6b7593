"""SIP registration state: parsed from baresip (`reginfo`, REGISTER_* events), kept in a small file
next to the generated config so `hub selftest` can read the running hub's state without talking to
its baresip (ctrl_tcp serves one client only, and a second one would cut the hub off)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "registration.json"
REGISTERED, REGISTERING, FAILED, NOT_USED = "registered", "registering", "failed", "not_used"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Registration:
    state: str  # registered | registering | failed | not_used
    detail: str = ""  # the server's answer or baresip's error ("403 Forbidden", "Connection timed out")
    account: str = ""
    pid: int = 0  # the baresip that reported it
    since: float = 0.0  # time.time()

    def describe(self) -> str:
        text = {REGISTERED: f"registered as {self.account}", REGISTERING: f"registering {self.account}",
                FAILED: f"registration of {self.account} failed", NOT_USED: "no registration (direct calls)"}
        base = text.get(self.state, self.state)
        return f"{base}: {self.detail}" if self.detail and self.state != REGISTERED else base


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def from_reginfo(data: str, register: bool) -> str:
    """`reginfo`'s answer -> a state: baresip marks its account `OK`, `ERR` or `zzz` (not yet)."""
    if not register:
        return NOT_USED
    text = strip_ansi(data)
    if re.search(r"\bOK\b", text):
        return REGISTERED
    if re.search(r"\bERR\b", text):
        return FAILED
    return REGISTERING


def from_event(event_type: str) -> str | None:
    return {"REGISTER_OK": REGISTERED, "REGISTER_FAIL": FAILED, "REGISTERING": REGISTERING,
            "UNREGISTERING": REGISTERING}.get(event_type)


def write_state(directory: Path, registration: Registration) -> None:
    """Written on a change only (a handful of times a day at most). Not durable state: a power cut
    that loses it loses nothing, the next start rewrites it."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(registration)))
    os.replace(tmp, directory / STATE_FILE)


def read_state(directory: Path) -> Registration | None:
    """The state a running agent wrote, or None when there is none or its baresip is gone."""
    try:
        body = json.loads((directory / STATE_FILE).read_text())
        registration = Registration(**body)
    except (OSError, ValueError, TypeError):
        return None
    if registration.pid <= 0 or not _alive(registration.pid):
        return None
    return registration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
