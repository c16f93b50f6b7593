"""What the hub remembers of each trigger across restarts (`state_dir/triggers.json`): the last packet
counter accepted per device and bind key (so a frame recorded and replayed after a restart is refused),
when it was last heard, its battery and signal, its last weekly test and the faults it has open.

Written atomically after every change that matters (a counter, a fault); a lost write costs at most a
re-sent fault or, for the counter, one frame that the device itself sent before the power cut.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hub.core.files import atomic_write

log = logging.getLogger(__name__)
FILENAME = "triggers.json"


def key_id(key: bytes | None) -> str:
    """A fingerprint of the bind key: a new key (re-binding) starts a new counter."""
    return hashlib.sha256(key).hexdigest()[:12] if key else ""


@dataclass
class Device:
    room: str = ""
    kind: str = ""
    key_id: str = ""
    counter: int = -1  # last accepted AES-CCM counter under key_id (-1: none yet)
    last_heard: float | None = None  # wall time (epoch s)
    battery_pct: int | None = None
    battery_low: bool = False
    battery_told: float | None = None  # when a low battery was last reported and spoken
    signal: int | None = None
    last_test: float | None = None  # a weekly test (or any) press the resident made; None: never
    bound_at: float | None = None  # when this key was bound: the untested clock runs from it until a first test
    faults: dict[str, str] = field(default_factory=dict)  # reason -> fault id (the event's id)
    spoken: list[str] = field(default_factory=list)  # faults already told to the resident


class TriggerState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.devices: dict[str, Device] = {}
        self.test_run = ""  # local date of the last weekly test run (YYYY-MM-DD)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.test_run = str(raw.get("test_run", ""))
            for name, item in raw.get("devices", {}).items():
                self.devices[str(name)] = Device(**{k: v for k, v in item.items() if k in Device.__dataclass_fields__})
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable %s (%s): counters start again", path, exc)

    def device(self, name: str) -> Device:
        return self.devices.setdefault(name, Device())

    def snapshot(self) -> bytes:
        return json.dumps({"devices": {k: asdict(v) for k, v in self.devices.items()}, "test_run": self.test_run},
                          ensure_ascii=False, sort_keys=True).encode()

    def write(self, content: bytes) -> None:
        atomic_write(self.path, content)


def as_dict(device: Device) -> dict[str, Any]:
    return asdict(device)
