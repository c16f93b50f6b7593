"""An async AT client for a cellular modem on a serial port (pyserial, or anything with read/write/close).

One reader thread turns bytes into lines (the port blocks; the hub's loop must not); commands are sent
one at a time and answered by the lines up to their final result code. Lines the modem sends on its
own (new SMS, RING, registration changes, the module restarting: "RDY") go to `on_unsolicited`, also
while a command is waiting, unless they are that command's own information response (`+CREG:` after
`AT+CREG?`). A command that expects `+XXX:` lines gets only those: any other line while it waits (a
stray line of a module's start-up, noise on the line) is logged with its bytes and goes to
`on_unsolicited`. A line longer than `MAX_LINE` is discarded as it streams in (one log line), so the read
buffer stays bounded whatever the module sends. A command that gets no final result within its timeout
raises `AtTimeout`: a module that reset mid-command answers nothing, and the caller re-initialises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.modem.at import (
    CTRL_Z,
    ESC,
    MAX_LINE,
    Final,
    call_ended,
    encode_ucs2,
    final_result,
    is_unsolicited,
    parse_cmgs,
)

log = logging.getLogger(__name__)
PROMPT = "> "  # AT+CMGS waits for the text after this, with no line end
_INFO_PREFIX = re.compile(r"^AT(\+[A-Z]+)[?=]?", re.IGNORECASE)
# Commands whose answer has lines without their prefix: the SMS body after +CMGR:/+CMGL:, the identity
# queries that answer with bare text ("Quectel", an IMEI).
_FREE_TEXT = {"+CMGR:", "+CMGL:", "+CGMI:", "+CGMM:", "+CGMR:", "+CGSN:", "+CIMI:", "+GMI:", "+GMM:", "+GMR:",
              "+GSN:"}
UNEXPECTED_PER_MIN = 20
LOST = "\x00LOST"  # the reader's word that the port went away (NULs from the port are dropped: never forged)


class AtError(Exception):
    def __init__(self, command: str, final: Final) -> None:
        super().__init__(f"{command} -> {final.text}")
        self.command, self.final = command, final


class AtTimeout(Exception):
    pass


class AtModem:
    def __init__(self, port: Any, on_unsolicited: Callable[[str], None] = lambda line: None) -> None:
        self._port = port
        self.on_unsolicited = on_unsolicited
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._pending: tuple[str | None, asyncio.Queue[str]] | None = None  # (info prefix, lines)
        self._dialing = False  # the pending command is ATD/ATA: NO CARRIER, BUSY, NO ANSWER are its answer
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._noise_since, self._noise_count = 0.0, 0  # unexpected lines logged this minute

    async def __aenter__(self) -> AtModem:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._read_forever, name="modem-reader", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(Exception):
            self._port.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # --- reading (thread) ------------------------------------------------------------------------------
    def _read_forever(self) -> None:
        buffer, dropping = b"", 0  # dropping: bytes of an over-long line discarded so far (0: none)
        while not self._closed.is_set():
            try:
                chunk = self._port.read(min(getattr(self._port, "in_waiting", 0) or 1, MAX_LINE))
            except Exception as exc:  # the USB modem went away (unplugged, reset): say so, stop
                if not self._closed.is_set():
                    log.warning("modem port closed under us: %s", exc)
                    self._deliver(LOST)
                return
            if not chunk:
                continue
            if dropping:
                end = chunk.find(b"\n")
                if end < 0:
                    dropping += len(chunk)
                    continue
                log.warning("modem: a line of %d bytes without a line end was discarded (the AT limit is %d): "
                            "%r...", dropping + len(chunk[:end].rstrip(b"\r")), MAX_LINE, buffer[:60])
                buffer, dropping, chunk = b"", 0, chunk[end + 1:]
            buffer += chunk
            buffer = self._split(buffer)
            if len(buffer) > MAX_LINE:  # no line end in sight: drop it up to the next one
                dropping, buffer = len(buffer), buffer[:60]

    def _split(self, buffer: bytes) -> bytes:
        """Deliver every whole line (and the SMS prompt) in `buffer`; the rest."""
        while True:
            if buffer.lstrip(b"\r\n").startswith(PROMPT.encode()):
                buffer = buffer.lstrip(b"\r\n")[len(PROMPT):]
                self._deliver(PROMPT)
                continue
            end = buffer.find(b"\n")
            if end < 0:
                return buffer
            line, buffer = buffer[:end].replace(b"\x00", b"").strip(b"\r"), buffer[end + 1:]
            if len(line) > MAX_LINE:
                log.warning("modem: a line of %d bytes was discarded (the AT limit is %d): %r...", len(line),
                            MAX_LINE, line[:60])
            elif line.strip():
                self._deliver(line.decode("utf-8", errors="replace").strip())

    def _deliver(self, line: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(self._route, line)

    def _route(self, line: str) -> None:
        if line.upper().startswith("AT"):  # the command echoed (a module reset turns ATE back on)
            return
        pending = self._pending
        # A call ATD started ends with NO CARRIER/BUSY/NO ANSWER long after ATD's OK: while any other
        # command runs (AT+CLCC, an SMS), that line is the call's news, not the command's result.
        if pending is not None and not (call_ended(line) and not self._dialing):
            prefix, lines = pending
            if line in (PROMPT, LOST) or final_result(line) is not None \
                    or (prefix is not None and line.startswith(prefix)):
                lines.put_nowait(line)
                return
            if not is_unsolicited(line):
                if prefix is None or prefix in _FREE_TEXT:
                    lines.put_nowait(line)
                    return
                self._unexpected(line, prefix)
        try:
            self.on_unsolicited(line)
        except Exception:  # a handler's bug never stops the lines that follow
            log.exception("modem: handling the line %r failed", line[:200])

    def _unexpected(self, line: str, prefix: str) -> None:
        """Logged with its bytes, at most UNEXPECTED_PER_MIN a minute (a babbling module must not fill the log)."""
        now = time.monotonic()
        if now - self._noise_since > 60:
            if self._noise_count > UNEXPECTED_PER_MIN:
                log.info("modem: %d more unexpected lines in the last minute, not logged",
                         self._noise_count - UNEXPECTED_PER_MIN)
            self._noise_since, self._noise_count = now, 0
        self._noise_count += 1
        if self._noise_count <= UNEXPECTED_PER_MIN:
            log.info("modem: unexpected line %r while waiting for %s...: not its answer", line[:200], prefix)

    # --- commands (loop) ---------------------------------------------------------------------------------
    async def command(self, command: str, timeout: float = 5.0) -> list[str]:
        """Send `command` (without CR); its information lines, or AtError/AtTimeout."""
        async with self._lock:
            lines = await self._exchange(command + "\r", command, timeout)
        return lines

    async def send_sms(self, number: str, text: str, timeout: float = 60.0) -> int:
        """Text-mode SMS in UCS2 (needs AT+CMGF=1 and AT+CSCS="UCS2" first); its message reference."""
        async with self._lock:
            queue = self._begin("+CMGS:")
            typing = False  # between the "> " prompt and the final result: the modem takes text
            try:
                self._write(f'AT+CMGS="{encode_ucs2(number)}"\r')
                first = await self._next(queue, 10.0, "AT+CMGS")
                if first != PROMPT:
                    raise AtError("AT+CMGS", final_result(first) or Final(False, first))
                typing = True
                self._write(encode_ucs2(text) + CTRL_Z)
                lines = await self._until_final(queue, timeout, "AT+CMGS")
                typing = False
            except AtError:
                raise  # a final result came: the modem is back in command mode
            except BaseException:
                if typing:
                    with contextlib.suppress(Exception):
                        self._write(ESC)  # timed out or cancelled mid-text: never leave it waiting
                raise
            finally:
                self._pending = None
        reference = next((line for line in lines if line.startswith("+CMGS:")), None)
        return parse_cmgs(reference) if reference else -1

    async def _exchange(self, data: str, command: str, timeout: float) -> list[str]:
        m = _INFO_PREFIX.match(command)
        queue = self._begin(m.group(1).upper() + ":" if m else None)
        self._dialing = command.upper().startswith(("ATD", "ATA"))
        try:
            self._write(data)
            return await self._until_final(queue, timeout, command)
        finally:
            self._pending, self._dialing = None, False

    def _begin(self, prefix: str | None) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending = (prefix, queue)
        return queue

    async def _until_final(self, queue: asyncio.Queue[str], timeout: float, command: str) -> list[str]:
        lines: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            line = await self._next(queue, max(0.0, deadline - loop.time()), command)
            final = final_result(line)
            if final is None:
                lines.append(line)
            elif final.ok:
                return lines
            else:
                raise AtError(command, final)

    async def _next(self, queue: asyncio.Queue[str], timeout: float, command: str) -> str:
        try:
            line = await asyncio.wait_for(queue.get(), timeout)
        except TimeoutError:
            raise AtTimeout(f"{command}: no answer in {timeout:g} s") from None
        if line == LOST:
            raise AtTimeout(f"{command}: the modem's port closed")
        return line

    def _write(self, text: str) -> None:
        if self._closed.is_set():
            raise AtTimeout("the modem port is closed")
        self._port.write(text.encode("ascii"))
        with contextlib.suppress(Exception):
            self._port.flush()
