"""The boot guard: `python -m hub.update.guard ROOT`, run by the unit's ExecStartPre from the base venv
before every start of the hub, on the stdlib alone (it must work when the new version cannot even
import).

With a new version on trial it counts the start; when the version has had `max_starts` starts or its
deadline has passed without being declared healthy, it switches `current` back to the old version and
leaves the reason in the marker for the old version to report (`system.update` rolled_back). It also
finishes what a power cut interrupted: a marker written but `current` never switched (the update is
reported failed), or a rollback whose marker was written but whose link was not.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hub.update.layout import FAILED, ROLLED_BACK, TRIAL, Releases, venv_version


def check(root: Path, now: float | None = None) -> str:
    """Do what the marker asks before a start; returns a line for the journal."""
    releases = Releases(root)
    marker = releases.marker()
    if marker is None:
        return "no update in progress"
    now = time.time() if now is None else now
    current = releases.target(releases.current)
    if marker.state == TRIAL:
        if current != marker.new:
            releases.settle(marker, FAILED, f"interrupted before the switch (power cut?); "
                                            f"{venv_version(current or '') or 'the old version'} runs on")
            return f"update to {marker.version} was interrupted before the switch: not tried"
        marker.starts += 1
        if marker.starts > marker.max_starts:
            reason = (f"{marker.version} did not become healthy in {marker.max_starts} starts "
                      "(it crashes or cannot start)")
        elif now > marker.deadline:
            reason = f"{marker.version} was not healthy within {marker.timeout_s:.0f} s"
        else:
            releases.write_marker(marker)
            return f"trying {marker.version}: start {marker.starts} of {marker.max_starts}"
        releases.roll_back(marker, reason)
        return f"rolled back to {marker.from_version}: {reason}"
    if marker.state == ROLLED_BACK and current != marker.old:
        releases.switch(releases.current, marker.old)  # a cut between the marker and the link
        return f"finished rolling back to {marker.from_version}"
    return f"update {marker.version}: {marker.state}, to be reported"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hub.update.guard ROOT", file=sys.stderr)
        return 2
    try:
        print("update guard:", check(Path(args[0])), flush=True)
    except (OSError, ValueError) as exc:
        # Never keep the hub from starting: it is the alarm path. The journal says what went wrong.
        print(f"update guard: {exc}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
