"""Where each INVITE came from: baresip's SIP trace (`baresip -s`), read from its output.

baresip 1.0.0 reports an incoming call (CALL_INCOMING) with the caller's From URI and the SIP Call-ID,
never the address the INVITE came from. With `-s` it prints every SIP message it sends or receives:

    ESC[36;1m#
    UDP 203.0.113.7:5060 -> 192.0.2.2:5060
    INVITE sip:hub@192.0.2.2:5060 SIP/2.0
    ...headers..., a blank line, the body (Content-Length bytes)
    ESC[;m

so the hub learns the source of the INVITE that carried a Call-ID. A Call-ID is forgotten once its
INVITE is turned away (and by the hub when its call ends), so an INVITE that reuses it later is
judged by its own trace, never by an earlier one from the server. The message is the sender's text:
libre refuses a header holding a line feed ("msg decode err"), but a body may hold anything, and a
datagram may carry bytes past Content-Length. So the body is skipped by its Content-Length and the
block must then end exactly; a block that does not (or has no Call-ID, or two) marks every Call-ID in
it untrusted, and for DISTRUST_S afterwards every INVITE is taken as from nowhere: a forged block can
only ever make the hub refuse a call, never accept one. Trace lines are never logged (REGISTER
carries the digest response).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass

BEGIN, END = b"\x1b[36;1m#\n", b"\x1b[;m\n"
OVERLONG = b"\x00overlong\n"  # fed by the reader for a line it had to drop (over its buffer limit)
DISTRUST_S = 10.0
KEEP = 512  # Call-IDs remembered (a flood of INVITEs must not grow memory)
SKIP_MAX = 2000  # lines of a broken block swallowed at most while looking for its end
_ADDR = re.compile(rb"^(UDP|TCP|TLS|WS|WSS) (\S+) -> (\S+)\r?\n$")
_CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)[ \t]*\r?\n$", re.IGNORECASE)
_REFUSAL = re.compile(rb"^SIP/2\.0 [3-6]\d\d ")  # a final answer other than 2xx (to any request)
_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d{1,7})[ \t]*\r?\n$", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    transport: str  # UDP, TCP, TLS
    host: str  # the sender's IP address as baresip saw it ("" = unknown: a malformed trace)
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


UNKNOWN = Source("", "", 0)


def split_hostport(text: str) -> tuple[str, int]:
    """'203.0.113.7:5060' / '[fd00::1]:5060' -> (host, port); port 0 if absent or not a number."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return host, int(port) if port.isdigit() else 0


class TraceReader:
    """Fed baresip's output line by line (bytes, with their b"\\n"); keeps each INVITE's sources."""

    def __init__(self) -> None:
        self._sources: OrderedDict[str, set[Source]] = OrderedDict()
        self._state = "idle"  # idle | addr | start | headers | body | end | skip
        self._block: dict[str, object] = {}
        self._left = 0  # body bytes still to skip
        self._distrust_until = 0.0
        self._skipped = 0
        self.malformed = 0

    def feed(self, line: bytes) -> bool:
        """True if the line belonged to a trace block (not to be logged)."""
        state = self._state
        if line == OVERLONG:  # bytes were lost: whatever block this was in cannot be read
            return self._broken() if state != "idle" else True
        if state == "skip":  # the rest of a block that did not parse: not logged, its Call-IDs untrusted
            self._skipped += 1
            if line == BEGIN or self._skipped > SKIP_MAX:
                self._state = "idle"
                return self.feed(line) if line == BEGIN else False
            if line == END:
                self._state = "idle"
            elif (call_id := _CALL_ID.match(line)) is not None:
                self._record(call_id.group(1).decode("utf-8", "replace"), UNKNOWN)
            return True
        if state == "idle":
            if line != BEGIN:
                return False
            self._state, self._block, self._left = "addr", {"ids": []}, 0
        elif state == "addr":
            match = _ADDR.match(line)
            if match is None:
                return self._broken(line)
            host, port = split_hostport(match.group(2).decode("ascii", "replace"))
            self._block["source"] = Source(match.group(1).decode(), host, port)
            self._state = "start"
        elif state == "start":
            if line.startswith(b"\x1b"):
                return self._broken(line)
            self._block["invite"] = line.startswith(b"INVITE ")
            self._block["refusal"] = _REFUSAL.match(line) is not None
            self._state = "headers"
        elif state == "headers":
            self._header(line)
        elif state == "body":
            if len(line) <= self._left:
                self._left -= len(line)
                self._state = "body" if self._left else "end"
            elif line[self._left:] == END:
                self._done()
            else:
                return self._broken(line)
        elif line == END:
            self._done()
        else:
            return self._broken(line)
        return True

    def _header(self, line: bytes) -> None:
        if line in (b"\r\n", b"\n"):
            self._state = "body" if self._left else "end"
            return
        if line.startswith(b"\x1b") or b":" not in line:  # not a header: an end marker too early, or worse
            self._broken(line)
            return
        call_id = _CALL_ID.match(line)
        if call_id is not None:
            ids = self._block["ids"]
            assert isinstance(ids, list)
            ids.append(call_id.group(1).decode("utf-8", "replace"))
        length = _LENGTH.match(line)
        if length is not None:
            self._left = int(length.group(1))

    def _done(self) -> None:
        ids, source = self._block["ids"], self._block.get("source", UNKNOWN)
        assert isinstance(ids, list) and isinstance(source, Source)
        self._state = "idle"
        if self._block.get("refusal") and len(ids) == 1:  # an INVITE turned away (486, 500, ...): no call left
            self.forget(ids[0])  # to vouch for a later INVITE that reuses its Call-ID
        if not self._block.get("invite"):
            return
        if len(ids) != 1:
            self._broken(END)  # ended, but naming no call or two: untrusted
            return
        self._record(ids[0], UNKNOWN if time.monotonic() < self._distrust_until else source)

    def _broken(self, line: bytes = b"") -> bool:
        """A block that does not parse: all it named is untrusted, and so is what follows for a while."""
        ids = self._block.get("ids") or []
        assert isinstance(ids, list)
        for call_id in ids:
            self._record(call_id, UNKNOWN)
        self.malformed += 1
        self._distrust_until = time.monotonic() + DISTRUST_S
        self._state, self._skipped = "skip", 0
        if line in (BEGIN, END):  # a new block right away (read it, distrusted), or this one's end
            self._state = "idle"
            return self.feed(line) if line == BEGIN else True
        return True

    def _record(self, call_id: str, source: Source) -> None:
        self._sources.setdefault(call_id, set()).add(source)
        self._sources.move_to_end(call_id)
        while len(self._sources) > KEEP:
            self._sources.popitem(last=False)

    def forget(self, call_id: str) -> None:
        """The call is over: a later INVITE reusing its Call-ID must be judged by its own trace alone."""
        self._sources.pop(call_id, None)

    def sources(self, call_id: str) -> set[Source]:
        """Every source an INVITE with this Call-ID was traced from (empty: none seen yet)."""
        return set(self._sources.get(call_id, ()))
