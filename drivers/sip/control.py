"""Client of baresip's `ctrl_tcp` module: JSON commands, responses and events over netstrings.

A command is `{"command": "dial", "params": "sip:...", "token": "7"}`; baresip answers
`{"response": true, "ok": true, "data": "...", "token": "7"}` and, unasked, reports what happens as
`{"event": true, "class": "call", "type": "CALL_ESTABLISHED", "id": "<call id>", "peeruri": ...,
"direction": "incoming"|"outgoing", "accountaor": ..., "param": ...}`. ctrl_tcp serves one client: a
second connection silently replaces the first, so only the agent that started baresip connects.
Commands run through baresip's menu module (`dial`, `accept`, `hangup`, `callfind`, `reginfo`, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.sip.netstring import Decoder, NetstringError, encode

log = logging.getLogger(__name__)


class ControlLost(ConnectionError):
    """The control connection is gone (baresip exited or dropped us); pending commands fail with it."""


@dataclass(frozen=True)
class Response:
    ok: bool
    data: str
    token: str | None = None


@dataclass(frozen=True)
class SipEvent:
    """One ctrl_tcp event. `call_id` is absent on the first events of an outgoing call (before any
    provisional response) and on registration events."""

    type: str
    klass: str = ""
    call_id: str | None = None
    direction: str | None = None
    peer: str | None = None
    account: str | None = None
    param: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_message(payload: bytes) -> Response | SipEvent | None:
    """A ctrl_tcp frame -> a Response, a SipEvent, or None for anything else (logged by the caller)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if body.get("response") is True:
        token = body.get("token")
        return Response(bool(body.get("ok")), str(body.get("data") or ""), None if token is None else str(token))
    if body.get("event") in (True, "true") and isinstance(body.get("type"), str):
        def text(key: str) -> str | None:
            value = body.get(key)
            return None if value is None else str(value)

        return SipEvent(body["type"], str(body.get("class") or ""), text("id"), text("direction"),
                        text("peeruri"), text("accountaor"), str(body.get("param") or ""), body)
    return None


class Control:
    """One connection to ctrl_tcp. `serve()` reads until the connection ends; `command()` may be
    called from any task on the same loop meanwhile."""

    def __init__(self, on_event: Callable[[SipEvent], None]) -> None:
        self._on_event = on_event
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future[Response]] = {}
        self._tokens = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self, host: str, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(host, port)

    async def serve(self) -> None:
        """Dispatch responses and events until the connection ends; then fail what is pending."""
        assert self._reader is not None
        decoder = Decoder()
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    return
                for frame in decoder.feed(chunk):
                    self._dispatch(frame)
        except (NetstringError, OSError) as exc:
            log.warning("baresip control stream broken: %s", exc)
        finally:
            self._fail_pending("baresip control connection closed")
            await self.close()

    def _dispatch(self, frame: bytes) -> None:
        message = parse_message(frame)
        if isinstance(message, Response):
            future = self._pending.pop(message.token or "", None)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, SipEvent):
            try:
                self._on_event(message)
            except Exception:
                log.exception("baresip event handler failed on %s", message.type)
        else:
            log.debug("baresip sent an unknown frame: %r", frame[:200])

    async def command(self, name: str, params: str | None = None, timeout: float = 5.0) -> Response:
        """Run one command and wait for its response. Serialised with `on_call`'s pairs, because a
        `dial` between `callfind X` and `accept` would change which call is current."""
        async with self._lock:
            return await self._send(name, params, timeout)

    async def _send(self, name: str, params: str | None, timeout: float) -> Response:
        if not self.connected:
            raise ControlLost("baresip is not connected")
        assert self._writer is not None
        token = str(next(self._tokens))
        body: dict[str, str] = {"command": name, "token": token}
        if params is not None:
            body["params"] = params
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            self._writer.write(encode(json.dumps(body, ensure_ascii=False).encode()))
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout)
        except OSError as exc:
            raise ControlLost(str(exc)) from exc
        finally:
            self._pending.pop(token, None)

    async def on_call(self, call_id: str, name: str, timeout: float = 5.0) -> Response:
        """Run `name` (accept, hangup) on one call: baresip 1.0.0's commands act on the current call,
        so select it with `callfind` first, both under one lock."""
        async with self._lock:
            found = await self._send("callfind", call_id, timeout)
            if not found.ok or "not found" in found.data:
                return Response(False, found.data.strip() or "call not found")
            return await self._send(name, None, timeout)

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlLost(why))
        self._pending.clear()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
