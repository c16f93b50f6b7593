"""`hub spoken [--since T] [--json]`: what the unit said, as the resident heard it (hub.speech.record).

Reads the record in state_dir/spoken, so it works with the hub stopped; a running hub is asked for what
it said in the last seconds and has not written yet (its batch, at most 30 s old).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from hub.cli.common import add_config_arg, load_config_or_exit
from hub.core.clock import zone_named
from hub.core.control import ControlError, request, socket_path
from hub.speech.record import FOLDER, line_of, read_record

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")  # '13:19': today, in the hub's zone
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spoken", help="what the unit said (kept 8 days) / 语音播报记录",
                       description="Every utterance as it was played: time (in [hub] timezone), prompt, the "
                                   "words heard, interrupted or not, and the alarm it belongs to. 播报记录。")
    add_config_arg(p)
    p.add_argument("--since", metavar="T", help="from T: '30m', '2h', '7d' ago, a time today '08:00', or "
                                                "'2026-12-06 08:00' (the hub's time zone) / 起始时间")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=spoken)


def parse_since(text: str, zone: tzinfo | None, now: float | None = None) -> float:
    """'90s', '30m', '2h', '7d' (ago), or an ISO date/time (naive: in `zone`) -> epoch seconds."""
    now = time.time() if now is None else now
    found = _RELATIVE.match(text.strip())
    if found:
        return now - float(found[1]) * _UNIT_S[found[2]]
    clock = _CLOCK.match(text.strip())
    if clock and int(clock[1]) < 24 and int(clock[2]) < 60 and int(clock[3] or 0) < 60:
        today = datetime.fromtimestamp(now, zone) if zone is not None else datetime.fromtimestamp(now).astimezone()
        at = today.replace(hour=int(clock[1]), minute=int(clock[2]), second=int(clock[3] or 0), microsecond=0)
        return at.timestamp() - (86400 if at.timestamp() > now else 0)  # later than now: yesterday's
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: give '30m', '2h', '7d', a time today like '08:00' or "
                         "'2026-12-06 08:00'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone) if zone is not None else when.astimezone()
    return when.timestamp()


def spoken(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args)
    zone = zone_named(config["hub"]["timezone"])
    try:
        since = parse_since(args.since, zone) if args.since else None
    except ValueError as exc:
        print(f"hub spoken: {exc}", file=sys.stderr)
        return 2
    lines = list(read_record(config.state_dir / FOLDER, since))
    lines += _not_yet_written(config.state_dir, lines, since)
    lines.sort(key=lambda x: str(x.get("end", "")))
    try:
        for line in lines:
            print(json.dumps(line, ensure_ascii=False) if args.json else _readable(line, zone))
        sys.stdout.flush()
    except BrokenPipeError:  # `hub spoken | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not lines and not args.json:
        print("nothing on record 无播报记录" + (f" since {args.since}" if args.since else ""), file=sys.stderr)
    return 0


def _not_yet_written(state_dir: Path, have: list[dict[str, Any]], since: float | None) -> list[dict[str, Any]]:
    """The running hub's latest utterances not in the files yet (none if no hub answers)."""
    try:
        recent = request(socket_path(state_dir), {"cmd": "spoken"}, timeout=5).get("spoken") or []
    except (ControlError, OSError, ValueError):
        return []
    seen = {(x.get("key"), x.get("end")) for x in have}
    out = []
    for entry in recent:
        line = line_of(entry)
        if (line["key"], line["end"]) not in seen and (since is None or float(entry.get("at") or 0) >= since):
            out.append(line)
    return out


def _readable(line: dict[str, Any], zone: tzinfo | None) -> str:
    start, end = (datetime.fromisoformat(str(line[k]).replace("Z", "+00:00")) for k in ("start", "end"))
    local = start.astimezone(zone) if zone is not None else start.astimezone()
    flags = [f for f, on in (("INTERRUPTED 被打断", line.get("interrupted")), ("cut 作废", line.get("cut")),
                             ("cancelled 已取消", line.get("cancelled")),
                             ("not heard 未播放", not line.get("played"))) if on]
    about = f"  (about {line['about']})" if line.get("about") else ""
    return (f"{local:%Y-%m-%d %H:%M:%S}  {(end - start).total_seconds():5.1f} s  {line.get('key', ''):<28} "
            f"{line.get('text') or '…'}{''.join('  ' + f for f in flags)}{about}")
