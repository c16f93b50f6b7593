"""Netstrings (D. J. Bernstein): `<decimal length>:<bytes>,` — the framing of baresip's ctrl_tcp."""

from __future__ import annotations

MAX_FRAME = 1 << 20  # baresip's replies are a few hundred bytes; anything this big is a broken stream


class NetstringError(ValueError):
    """The byte stream is not netstrings: the connection must be dropped and opened again."""


def encode(payload: bytes) -> bytes:
    return str(len(payload)).encode("ascii") + b":" + payload + b","


class Decoder:
    """Feed bytes as they arrive; get back every complete frame's payload."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        while True:
            colon = self._buf.find(b":")
            if colon < 0:
                if len(self._buf) > len(str(self._max)):
                    raise NetstringError(f"no ':' after {bytes(self._buf[:12])!r}")
                return frames
            digits = bytes(self._buf[:colon])
            if not digits.isdigit() or (len(digits) > 1 and digits.startswith(b"0")):
                raise NetstringError(f"bad length {digits[:12]!r}")
            length = int(digits)
            if length > self._max:
                raise NetstringError(f"frame of {length} bytes exceeds {self._max}")
            end = colon + 1 + length
            if len(self._buf) < end + 1:
                return frames
            if self._buf[end] != ord(","):
                raise NetstringError(f"frame of {length} bytes not closed by ','")
            frames.append(bytes(self._buf[colon + 1:end]))
            del self._buf[:end + 1]
