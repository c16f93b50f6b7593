"""The SIP trust boundary's parts that need no baresip running: reading each INVITE's source from
baresip's SIP trace (including traces an attacker tries to forge inside a message), the listen
address, the auto-answer windows and the masked sources of voice.refused."""

from __future__ import annotations

import time

import pytest

from drivers.sip import trace
from drivers.sip.listen import listen_problem, registrar, resolve_listen, server_of
from drivers.sip.setup import AgentSettings
from drivers.sip.trace import Source, TraceReader
from hub.core.events import Event
from hub.voicecall.refused import mask
from hub.voicecall.screen import Windows, window_kind


def block(source: str, call_id: str, body: bytes = b"", extra: bytes = b"", first: bytes = b"INVITE sip:hub@h SIP/2.0",
          length: int | None = None) -> list[bytes]:
    """baresip's trace of one message as its output lines (libre prints CRLF lines, then the body)."""
    head = (first + b"\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\nCall-ID: " + call_id.encode() + b"\r\n" + extra
            + b"Content-Length: " + str(len(body) if length is None else length).encode() + b"\r\n\r\n")
    text = trace.BEGIN + f"UDP {source} -> 127.0.0.1:5060\n".encode() + head + body + trace.END
    return text.splitlines(keepends=True)


def read(lines: list[bytes]) -> tuple[TraceReader, list[bytes]]:
    reader = TraceReader()
    logged = [line for line in lines if not reader.feed(line)]
    return reader, logged


def test_each_invite_source_is_read_and_trace_lines_are_not_logged():
    sdp = b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 4000 RTP/AVP 0\r\n"
    lines = [b"baresip is ready.\n", *block("203.0.113.7:5060", "a@x", sdp), b"ua: some log\n",
             *block("[2001:db8::1]:5062", "b@x", b"no newline at the end"),
             *block("198.51.100.1:5060", "r@x", first=b"REGISTER sip:pbx SIP/2.0")]
    reader, logged = read(lines)
    assert logged == [b"baresip is ready.\n", b"ua: some log\n"]
    assert reader.sources("a@x") == {Source("UDP", "203.0.113.7", 5060)}
    assert reader.sources("b@x") == {Source("UDP", "2001:db8::1", 5062)}
    assert reader.sources("r@x") == set() and reader.malformed == 0  # only INVITEs are kept


def test_a_trace_forged_past_the_body_never_makes_a_trusted_source():
    forged = b"".join(block("127.0.0.1:5060", "victim@x"))  # what a relay by the registrar would print
    # a datagram from 203.0.113.7 whose bytes past its Content-Length hold that forged trace
    reader, logged = read(block("203.0.113.7:5060", "victim@x", b"v=0\r\n" + forged, length=5))
    assert reader.sources("victim@x") == {trace.UNKNOWN} and reader.malformed == 1
    assert [line for line in logged if line.strip(b"\x1b[;m\n")] == []  # at most the stray end marker
    # and for DISTRUST_S afterwards no INVITE is believed, even a well-formed one
    for line in block("127.0.0.1:5060", "next@x"):
        reader.feed(line)
    assert reader.sources("next@x") == {trace.UNKNOWN}


def test_a_body_holding_a_whole_fake_block_is_skipped_by_its_length():
    fake = b"".join(block("127.0.0.1:5060", "other@x"))
    reader, _ = read(block("203.0.113.7:5060", "evil@x", fake))
    assert reader.sources("evil@x") == {Source("UDP", "203.0.113.7", 5060)}
    assert reader.sources("other@x") == set() and reader.malformed == 0


def test_a_block_with_two_call_ids_or_an_overlong_line_trusts_nothing():
    reader, _ = read(block("127.0.0.1:5060", "one@x", extra=b"i: two@x\r\n"))
    assert reader.sources("one@x") == {trace.UNKNOWN} and reader.sources("two@x") == {trace.UNKNOWN}
    lines = block("127.0.0.1:5060", "long@x")
    reader, _ = read([*lines[:4], trace.OVERLONG, *lines[4:]])
    assert reader.sources("long@x") == {trace.UNKNOWN}


def test_memory_stays_bounded_under_a_flood():
    reader = TraceReader()
    for i in range(trace.KEEP * 3):
        for line in block("203.0.113.7:5060", f"{i}@x"):
            reader.feed(line)
    assert len(reader._sources) == trace.KEEP and reader.sources("0@x") == set()


@pytest.mark.parametrize(("value", "ok"), [
    ("auto:5060", True), ("127.0.0.1:5060", True), ("[fd00::2]:5060", True), ("eth0:5060", True),
    ("wlan0:0", True), ("0.0.0.0:5060", False), ("[::]:5060", False), (":5060", False), ("auto", False),
    ("127.0.0.1:99999", False), ("bad host!:5060", False),
])
def test_listen_values(value, ok):
    assert (listen_problem(value) is None) is ok


def test_listen_resolves_to_one_address():
    server = AgentSettings(account="sip:hub@127.0.0.1:5099", listen="auto:5072")
    assert resolve_listen(server) == "127.0.0.1:5072"  # the address the route to the server leaves from
    assert resolve_listen(AgentSettings(account="sip:hub@x", register=False, listen="auto:5072")) == "127.0.0.1:5072"
    assert resolve_listen(AgentSettings(account="sip:hub@x", listen="lo:5072")) == "127.0.0.1:5072"
    with pytest.raises(OSError):
        resolve_listen(AgentSettings(account="sip:hub@x", listen="nosuchif0:5072"))
    assert server_of("sips:hub@PBX.example.org;transport=tls") == ("pbx.example.org", None)
    assert registrar(AgentSettings(account="sips:hub@pbx.example.org")) == ("pbx.example.org", 5061)
    assert registrar(AgentSettings(account="sip:hub@pbx.example.org", outbound="sip:proxy.example.org:5070"
                                   )) == ("proxy.example.org", 5070)


@pytest.mark.parametrize(("event_type", "data", "kind"), [
    ("call.raised", {"kind": "emergency"}, "emergency"), ("call.raised", {"kind": "service"}, "service"),
    ("alarm.fall", {}, "fall"), ("alarm.fire", {}, "fire"), ("alarm.fire_cleared", {}, None),
    ("alarm.acknowledged", {}, None), ("health.alert", {}, "health"), ("call.cancelled", {}, None),
])
def test_window_kinds(event_type, data, kind):
    assert window_kind(Event(event_type, data)) == kind


def test_a_cancelled_call_closes_only_its_own_window():
    windows = Windows()
    windows.open("fall-1", "fall", 60)
    windows.open("press-2", "emergency", 120)
    assert windows.current() is not None and windows.current().trigger == "press-2"
    assert windows.close("press-2") and not windows.close("press-2")
    assert windows.current() is not None and windows.current().trigger == "fall-1"
    windows.open("short", "fire", 0.01)
    windows.close("fall-1")
    time.sleep(0.05)  # past its end (a negative check: nothing may be left open)
    assert windows.current() is None and windows.left_s() == 0.0


def test_sources_are_masked():
    assert mask("203.0.113.7") == "203.0.113.x"
    assert mask("2001:db8:1:2::7") == "2001:db8:1::x"
    assert mask("") == "unknown"


def test_a_finished_call_id_is_forgotten():
    reader, _ = read(block("127.0.0.1:5060", "reused@x"))
    reader.forget("reused@x")  # the server's call is over; the same Call-ID straight from elsewhere:
    for line in block("203.0.113.7:5060", "reused@x"):
        reader.feed(line)
    assert reader.sources("reused@x") == {Source("UDP", "203.0.113.7", 5060)}


def test_a_refused_invite_leaves_no_source_behind():
    lines = block("127.0.0.1:5060", "busy@x") + block("127.0.0.1:5060", "busy@x", first=b"SIP/2.0 486 Busy Here")
    reader, _ = read(lines)
    assert reader.sources("busy@x") == set()
    reader, _ = read(block("127.0.0.1:5060", "ok@x") + block("127.0.0.1:5060", "ok@x", first=b"SIP/2.0 180 Ringing"))
    assert reader.sources("ok@x") == {Source("UDP", "127.0.0.1", 5060)}
