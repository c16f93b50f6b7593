"""The activity event logs `hub eval inactivity` replays (and the wellbeing replays read): parsing with
errors that name file and line, the view without door contacts and mats, and labelled absences.

Log format (../shared/data/README.md): `YYYY-MM-DD HH:MM:SS<TAB>SENSOR<TAB>ON|OFF`, sorted, SENSOR is
`<KIND>-<place>-<name>`, kind `X` the exit door. Times are the home's local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LogEvent:
    ts: datetime
    sensor: str
    state: str

    @property
    def exit_door(self) -> bool:
        return self.sensor.startswith("X-")

    @property
    def source(self) -> str:
        return f"{self.sensor}:{self.state}"


class LogError(ValueError):
    pass


def parse_log(lines: Any, where: str = "<log>") -> list[LogEvent]:
    """Lines of the event log -> events; a bad line raises LogError naming file and line."""
    events: list[LogEvent] = []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2] not in ("ON", "OFF") or not parts[1]:
            raise LogError(f"{where}:{n}: expected 'YYYY-MM-DD HH:MM:SS<TAB>SENSOR<TAB>ON|OFF', got {line!r}")
        try:
            ts = datetime.strptime(parts[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise LogError(f"{where}:{n}: bad time {parts[0]!r}") from None
        if events and ts < events[-1].ts:
            raise LogError(f"{where}:{n}: time {parts[0]} goes backwards; the log must be sorted")
        events.append(LogEvent(ts, parts[1], parts[2]))
    return events


def load_log(path: Path) -> list[LogEvent]:
    with path.open(encoding="utf-8") as fh:
        return parse_log(fh, str(path))


def without_doors_and_mats(events: list[LogEvent]) -> list[LogEvent]:
    """The same home as a hub without door contacts and mats sees it (no D-, X- or P- sensors)."""
    return [e for e in events if e.sensor[:2] not in ("D-", "X-", "P-")]


def load_absences(path: Path) -> list[tuple[datetime, datetime]]:
    """Labelled absences, where a data set has them: `START<TAB>END` per line (times as in the log)."""
    spans = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            a, b = (datetime.strptime(x.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for x in line.split("\t"))
        except ValueError:
            raise LogError(f"{path}:{n}: expected 'START<TAB>END' (YYYY-MM-DD HH:MM:SS), got {line!r}") from None
        if b <= a:
            raise LogError(f"{path}:{n}: the absence ends before it starts")
        spans.append((a, b))
    return spans
