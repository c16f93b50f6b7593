"""Where the chains are, on disk and in `hub status`.

`state_dir/escalation-chains.json` is written atomically (hub.core.files) after every change and before
each text or call is tried, so after a power cut a chain goes on where it was and repeats nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from hub.core.events import iso_ms
from hub.core.files import atomic_write
from hub.escalation.steps import Progress, Step

log = logging.getLogger(__name__)


def load(path: Path) -> dict[str, Progress]:
    try:
        raw = json.loads(path.read_text())
        return {p["alarm_id"]: Progress.from_dict(p) for p in raw.get("chains", [])}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("escalation state %s unreadable (%s): chains start afresh", path, exc)
        return {}


async def save(path: Path, chains: list[Progress]) -> None:
    body = json.dumps({"chains": [p.as_dict() for p in chains]}, ensure_ascii=False)
    try:
        await asyncio.to_thread(atomic_write, path, body.encode())
    except OSError as exc:  # a failing card (hub.core.store): the chain still runs, from memory
        log.error("escalation state not saved to %s (%s): a restart may repeat a text", path, exc)


def status(chains: Iterable[Progress], steps: list[Step], after_s: float, zone: tzinfo | None) -> dict[str, Any]:
    """`hub status` → escalation: each running chain, its step and when the next one starts."""
    shown = []
    for p in chains:
        if p.ended:
            continue
        step = steps[p.step] if p.step < len(steps) else None
        until = p.step_since + step.wait_s if step is not None and p.step_since is not None else None
        shown.append({"event_id": p.alarm_id, "alarm_type": p.alarm_type, "step": p.step, "of": len(steps),
                      "role": step.role if step else None, "name": step.name if step else None,
                      "done": list(p.done),
                      "next_step_at": iso_ms(datetime.fromtimestamp(until, zone)) if until else None})
    return {"after_s": after_s, "chains": shown}
