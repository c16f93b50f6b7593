"""A raw SIP peer on loopback: hand-written INVITEs over UDP from any 127.x address, as an attacker who
reaches the hub's SIP port would send them. It records every response by Call-ID, ACKs final ones
(so nobody retransmits), retransmits an INVITE that got no answer at all as RFC 3261 asks over UDP
(timer A: 0.5 s, doubling, for 32 s; a loaded machine drops loopback datagrams too), and counts RTP
packets arriving at the port its SDP offers: audio from the unit's microphone would land there."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid


class RawPeer:
    def __init__(self, host: str = "127.0.0.2") -> None:
        self.host = host
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((host, 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((host, 0))
        self.port = int(self.sip.getsockname()[1])
        for sock in (self.sip, self.rtp):
            sock.settimeout(0.2)  # so the readers see close() soon
        self.responses: dict[str, list[int]] = {}
        self.rtp_packets = 0
        self._sent: dict[str, tuple[str, tuple[str, int], str]] = {}  # call id -> (request uri, where, from line)
        self._retransmit: dict[str, tuple[float, float]] = {}  # call id -> (next send, interval), until answered
        self._cond = threading.Condition()
        self._stop = False
        for target in (self._read_sip, self._read_rtp, self._timer_a):
            threading.Thread(target=target, daemon=True).start()

    def invite(self, to: tuple[str, int], request_uri: str, from_uri: str, call_id: str | None = None) -> str:
        """Send one INVITE to `to` (the hub itself, or the SIP server to relay it); returns its Call-ID."""
        call_id = call_id or f"{uuid.uuid4().hex}@{self.host}"
        rtp_port = self.rtp.getsockname()[1]
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
               f"m=audio {rtp_port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n")
        from_line = f"<{from_uri}>;tag={uuid.uuid4().hex[:10]}"
        message = (f"INVITE {request_uri} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: {from_line}\r\nTo: <{request_uri}>\r\nCall-ID: {call_id}\r\n"
                   f"CSeq: 1 INVITE\r\nContact: <sip:caller@{self.host}:{self.port}>\r\n"
                   f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
        with self._cond:
            self._sent[call_id] = (request_uri, to, message)
            self.responses.setdefault(call_id, [])
            self._retransmit[call_id] = (time.monotonic() + 0.5, 0.5)
        self.sip.sendto(message.encode(), to)
        return call_id

    def _timer_a(self) -> None:
        while not self._stop:
            time.sleep(0.05)
            now, due = time.monotonic(), []
            with self._cond:
                for call_id, (at, interval) in list(self._retransmit.items()):
                    # answered (a provisional will do), or timer B (64 x T1 = 32 s) ran out: no more copies
                    if self.responses.get(call_id) or interval > 16:
                        del self._retransmit[call_id]
                    elif at <= now:
                        self._retransmit[call_id] = (now + interval * 2, interval * 2)
                        due.append(self._sent[call_id])
            for _, to, message in due:
                with contextlib.suppress(OSError):
                    self.sip.sendto(message.encode(), to)

    def _read_sip(self) -> None:
        while not self._stop:
            try:
                data, _ = self.sip.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
            if not head[0].startswith("SIP/2.0 "):
                continue  # a request (a BYE): not part of these tests
            code = int(head[0].split()[1])
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), value.strip())
            call_id = headers.get("call-id", "")
            with self._cond:
                self.responses.setdefault(call_id, []).append(code)
                self._cond.notify_all()
            if code >= 200 and headers.get("cseq", "").endswith("INVITE"):
                self._ack(call_id, headers)

    def _ack(self, call_id: str, headers: dict[str, str]) -> None:
        sent = self._sent.get(call_id)
        if sent is None:
            return
        request_uri, to, _ = sent
        via = headers.get("via", "").split(",")[0]
        ack = (f"ACK {request_uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {headers.get('from', '')}\r\n"
               f"To: {headers.get('to', '')}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
        with contextlib.suppress(OSError):
            self.sip.sendto(ack.encode(), to)

    def _read_rtp(self) -> None:
        while not self._stop:
            try:
                self.rtp.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self.rtp_packets += 1

    def final(self, call_id: str, timeout: float = 15) -> int | None:
        """The first final response (>= 200) to this INVITE, or None if none came in time."""
        def found() -> int | None:
            return next((c for c in self.responses.get(call_id, []) if c >= 200), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def wait_finals(self, call_ids: list[str], timeout: float = 30) -> dict[str, int]:
        """Final codes of those of `call_ids` answered by the deadline."""
        end = time.time() + timeout
        with self._cond:
            self._cond.wait_for(lambda: all(any(c >= 200 for c in self.responses.get(i, [])) for i in call_ids),
                                max(0.0, end - time.time()))
            return {i: next(c for c in self.responses[i] if c >= 200) for i in call_ids
                    if any(c >= 200 for c in self.responses.get(i, []))}

    def close(self) -> None:
        self._stop = True
        self.sip.close()
        self.rtp.close()
