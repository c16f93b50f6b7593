"""`hub sim notice …` (a notice as the platform would send it, through the same checks) and
`hub sim reminder ID` (a configured reminder falls due now)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.simulation import SimArgumentError, SimParser
from hub.notices.items import reminder_item

if TYPE_CHECKING:
    from hub.notices.component import NoticeBoard


async def notice(board: NoticeBoard, argv: list[str]) -> dict[str, Any]:
    p = SimParser("hub sim notice")
    p.add_argument("text", nargs="?")
    p.add_argument("--id", default=None)
    p.add_argument("--priority", default="action")
    p.add_argument("--confirm", action="store_true")
    p.add_argument("--repeat", type=float, default=None)
    p.add_argument("--expires-in", type=float, default=3600.0)
    p.add_argument("--quiet", default=None)
    p.add_argument("--audio", default=None)
    args = p.parse_args(argv)
    ctx = board._need()
    now = ctx.clock.now()
    body: dict[str, Any] = {"id": args.id or f"sim-{now.strftime('%H%M%S%f')}", "priority": args.priority,
                            "expires": (now + timedelta(seconds=args.expires_in)).isoformat(),
                            "confirm": args.confirm}
    if args.repeat is not None:
        body["repeat_s"] = args.repeat
    if args.quiet is not None:
        body["quiet_hours"] = args.quiet
    if args.audio is not None:
        path = Path(args.audio)
        try:
            body["audio"] = base64.b64encode(path.read_bytes()[:8_000_000]).decode()
        except OSError as exc:
            raise SimArgumentError(f"读不了文件 cannot read {path}: {exc}") from None
        body["audio_format"] = path.suffix.lstrip(".").lower() or "wav"
    else:
        body["text"] = args.text
    return await board.accept(body)


async def reminder(board: NoticeBoard, argv: list[str]) -> dict[str, Any]:
    p = SimParser("hub sim reminder")
    p.add_argument("id")
    args = p.parse_args(argv)
    entry = next((e for e in board.entries if e["id"] == args.id), None)
    if entry is None:
        raise SimArgumentError(f"没有这条提醒 no [[reminders]] entry {args.id!r}; 已配置 configured: "
                               f"{', '.join(e['id'] for e in board.entries) or 'none'}")
    item = reminder_item(entry, board._need().clock.now())
    board.items.append(item)
    board._poke()
    return {"outcome": "due", "ref": item.ref}
