"""`cmd/report` from the platform: render `hub report` in a child process and send the file back.

The chart needs matplotlib (tens of MB); a child process keeps it out of the hub's memory and off its
loop. Checked at the edge: `id` (1-64 of A-Z a-z 0-9 _ -), `days` 7 or 30, `format` png or pdf; one
report at a time; an id already answered is not rendered again (a replayed command costs nothing);
a file over `[wellbeing] report_max_kb` is refused, not sent. The answer is an event, so it queues
behind every alarm: `report.ready` (the file, base64, with its size and SHA-256) or `report.failed`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub.config.loader import Config
from hub.core.context import HubContext
from hub.core.files import scratch_dir

log = logging.getLogger(__name__)

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RENDER_TIMEOUT_S = 180.0
REMEMBERED = 64


def check(payload: dict[str, Any]) -> tuple[str, int, str]:
    """(id, days, format) or ValueError naming the field."""
    rid, days, fmt = payload.get("id"), payload.get("days", 7), payload.get("format", "png")
    if not isinstance(rid, str) or not ID.match(rid):
        raise ValueError("id: 1-64 letters, digits, '_' or '-'")
    if isinstance(days, bool) or days not in (7, 30):
        raise ValueError("days: 7 or 30")
    if fmt not in ("png", "pdf"):
        raise ValueError("format: 'png' or 'pdf'")
    unknown = set(payload) - {"id", "days", "format"}
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    return rid, int(days), str(fmt)


class ReportRequests:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.max_bytes = int(config["wellbeing"]["report_max_kb"]) * 1024
        self.answered: OrderedDict[str, None] = OrderedDict()
        self.busy = False
        self._proc: asyncio.subprocess.Process | None = None

    def handle_for(self, ctx: HubContext) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def handle(payload: dict[str, Any]) -> None:
            await self.handle(ctx, payload)
        return handle

    async def handle(self, ctx: HubContext, payload: dict[str, Any]) -> None:
        try:
            rid, days, fmt = check(payload)
        except ValueError as exc:
            log.warning("cmd/report refused: %s", exc)
            raw = payload.get("id")
            await ctx.raise_event("report.failed", {"id": raw if isinstance(raw, str) and ID.match(raw) else None,
                                                    "reason": f"refused: {exc}"})
            return
        if rid in self.answered:
            log.info("cmd/report %s: already answered; not rendered again", rid)
            return
        if self.busy:
            await ctx.raise_event("report.failed", {"id": rid, "reason": "busy: another report is being drawn"})
            return
        self.busy = True
        self.answered[rid] = None
        while len(self.answered) > REMEMBERED:
            self.answered.popitem(last=False)
        try:
            data = await self.render(rid, days, fmt)
        except (OSError, RuntimeError, TimeoutError) as exc:
            await ctx.raise_event("report.failed", {"id": rid, "reason": str(exc)[:300]})
            return
        finally:
            self.busy = False
        await ctx.raise_event("report.ready", data)

    async def render(self, rid: str, days: int, fmt: str) -> dict[str, Any]:
        # The scratch directory is per user, not per hub: every hub (and `hub report`) of that user shares it,
        # so each drawing gets a file of its own (two hubs drawing "r-1" at once unlinked each other's chart).
        fd, name = tempfile.mkstemp(prefix=f"report-{rid}-", suffix=f".{fmt}", dir=scratch_dir("reports"))
        os.close(fd)
        out = Path(name)
        try:
            body = await self._draw(out, days)
        finally:
            with contextlib.suppress(OSError):
                out.unlink()
        if len(body) > self.max_bytes:
            raise RuntimeError(f"the {fmt} is {len(body) // 1024} kB, over report_max_kb "
                               f"({self.max_bytes // 1024} kB)")
        return {"id": rid, "days": days, "format": fmt, "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(), "content_base64": base64.b64encode(body).decode()}

    async def _draw(self, out: Path, days: int) -> bytes:
        cmd = [sys.executable, "-m", "hub", "report", "--config", str(self.config.path), "--days", str(days),
               "--out", str(out)]
        self._proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                          stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(self._proc.communicate(), RENDER_TIMEOUT_S)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
            raise TimeoutError(f"the chart took longer than {RENDER_TIMEOUT_S:g} s") from None
        if self._proc.returncode != 0:
            raise RuntimeError(f"hub report failed: {output.decode(errors='replace').strip()[-300:]}")
        return await asyncio.to_thread(out.read_bytes)

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            with contextlib.suppress(ProcessLookupError):
                await self._proc.wait()
