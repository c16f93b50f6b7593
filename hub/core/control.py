"""The local control socket (`state_dir/control.sock`): `hub sim`, `hub status` and friends talk to
the running hub through it. One JSON object per line each way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_REQUEST = 1 << 20


class ControlError(Exception):
    pass


NOT_FITTED = "此终端未配置 not fitted on this hub"  # a sim verb or command for a part the config does not fit


class UsageError(ValueError):
    """The request's arguments cannot be used (a `hub sim` verb's): the reply says so with `usage`, and the
    CLI exits 2, as for any command-line mistake."""


class ControlUsageError(ControlError):
    """On the client: the hub refused the request's arguments (UsageError)."""


def socket_path(state_dir: Path) -> Path:
    return state_dir / "control.sock"


class _HungUp(Exception):
    pass


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler], cancel_on_hangup: set[str] | None = None) -> None:
        self.path = path
        # Kept by reference and looked up per request: the owner may add commands at any time.
        self.handlers = handlers
        # Commands whose work must stop when nobody waits for the answer any more (a self-test step that
        # holds a call button's presses must not outlive the technician's Ctrl-C). Also by reference.
        self.cancel_on_hangup = cancel_on_hangup if cancel_on_hangup is not None else set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        os.chmod(self.path, 0o660)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("request must be a JSON object")
                handler = self.handlers.get(str(request.get("cmd")))
                if handler is None:
                    raise ControlError(f"unknown command {request.get('cmd')!r}; known: "
                                       f"{', '.join(sorted(self.handlers))}")
                if request.get("cmd") in self.cancel_on_hangup:
                    result = await _unless_hung_up(reader, handler(request))
                else:
                    result = await handler(request)
                reply = {"ok": True, "result": result}
            except _HungUp:
                log.info("control client left before %r finished: cancelled", request.get("cmd"))
                return
            except (ControlError, ValueError) as exc:
                reply = {"ok": False, "error": str(exc), **({"usage": True} if isinstance(exc, UsageError) else {})}
            except Exception as exc:  # a bad request never takes the hub down
                log.exception("control command failed")
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            writer.write((json.dumps(reply, ensure_ascii=False) + "\n").encode())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


async def _unless_hung_up(reader: asyncio.StreamReader, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """`work`'s result; cancels it and raises _HungUp if the client closes first (clients send one line)."""
    task = asyncio.ensure_future(work)
    hangup = asyncio.ensure_future(reader.read(1))
    try:
        await asyncio.wait({task, hangup}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and hangup.result() == b"":
            raise _HungUp
        return await task  # extra bytes after the request are not a hang-up
    finally:
        for pending in (hangup, task):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending


def request(path: Path, message: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Blocking client for the CLI. Raises ControlError with a readable reason."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(f"没有运行中的终端 no running hub at {path}: 请先启动 start it with 'hub run' "
                               "(same --config)") from None
        buf = b""
        try:
            sock.sendall((json.dumps(message) + "\n").encode())
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            buf = b""  # the hub went away mid-request (stopping or restarting): the same as no answer
    if not buf:
        raise ControlError("终端未回答就断开了 the hub closed the connection without answering")
    reply = json.loads(buf)
    if not reply.get("ok"):
        raise (ControlUsageError if reply.get("usage") else ControlError)(str(reply.get("error")))
    result: dict[str, Any] = reply.get("result") or {}
    return result
