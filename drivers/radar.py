"""Seeed 60 GHz mmWave fall-detection radar (MR60FDA1 family) UART frames: a pure incremental parser.

Frame (115200 8N1), all multi-byte fields big-endian:

    0x53 0x59 | control | command | length (2) | data (length) | checksum | 0x54 0x43

checksum = low 8 bits of the sum of every byte from the first header byte to the last data byte.
Reports the hub uses (control, command: data[0]):
    0x80 0x01 presence       0 nobody, 1 someone
    0x80 0x02 motion         0 none, 1 stationary, 2 moving
    0x80 0x03 body movement  0..100 (activity level, once a second)
    0x83 0x01 fall state     0 no fall, 1 fall
    0x83 0x05 residency      0 none, 1 someone stationary for too long in one place

`RadarParser.feed(bytes)` returns the complete, checksum-valid frames and never raises: garbage
between frames, bad checksums, a wrong tail or an implausible length are skipped and counted, and the
parser resynchronises on the next header (truncated frames cost only themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEADER = b"\x53\x59"
TAIL = b"\x54\x43"
MAX_DATA = 64  # longest report of this family is well below; anything longer is noise
_OVERHEAD = 9  # header 2 + control + command + length 2 + checksum + tail 2

PRESENCE = (0x80, 0x01)
MOTION = (0x80, 0x02)
BODY_MOVEMENT = (0x80, 0x03)
FALL = (0x83, 0x01)
RESIDENCY = (0x83, 0x05)
_KINDS = {PRESENCE: "presence", MOTION: "motion", BODY_MOVEMENT: "body_movement", FALL: "fall",
          RESIDENCY: "residency"}


@dataclass(frozen=True)
class RadarFrame:
    control: int
    command: int
    data: bytes

    @property
    def kind(self) -> str:
        """presence, motion, body_movement, fall, residency, or other (heartbeat, replies...)."""
        return _KINDS.get((self.control, self.command), "other")

    @property
    def value(self) -> int | None:
        return self.data[0] if self.data else None


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def encode(control: int, command: int, data: bytes = b"") -> bytes:
    """A frame as the module sends it (for queries to the module and for simulation)."""
    if not (0 <= control <= 0xFF and 0 <= command <= 0xFF) or len(data) > 0xFFFF:
        raise ValueError(f"bad radar frame fields: control={control!r} command={command!r} len={len(data)}")
    body = HEADER + bytes((control, command)) + len(data).to_bytes(2, "big") + data
    return body + bytes((checksum(body),)) + TAIL


@dataclass
class RadarStats:
    frames: int = 0
    bad_checksum: int = 0
    bad_frame: int = 0  # wrong tail or implausible length: truncated or corrupted
    skipped_bytes: int = 0  # bytes outside any valid frame

    def as_dict(self) -> dict[str, int]:
        return {"frames": self.frames, "bad_checksum": self.bad_checksum, "bad_frame": self.bad_frame,
                "skipped_bytes": self.skipped_bytes}


@dataclass
class RadarParser:
    stats: RadarStats = field(default_factory=RadarStats)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[RadarFrame]:
        self._buf += data
        frames: list[RadarFrame] = []
        buf = self._buf
        while True:
            start = buf.find(HEADER)
            if start < 0:
                # keep a trailing 0x53: it may be the first half of the next header
                keep = 1 if buf.endswith(HEADER[:1]) else 0
                self.stats.skipped_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                break
            if start:
                self.stats.skipped_bytes += start
                del buf[:start]
            if len(buf) < 6:
                break  # wait for the length field
            length = int.from_bytes(buf[4:6], "big")
            if length > MAX_DATA:
                self._drop_header(frames_bad=True)
                continue
            end = _OVERHEAD + length
            if len(buf) < end:
                break  # incomplete: wait for more bytes
            body, check, tail = bytes(buf[:6 + length]), buf[6 + length], bytes(buf[7 + length:end])
            if tail != TAIL:
                self._drop_header(frames_bad=True)
                continue
            if checksum(body) != check:
                self.stats.bad_checksum += 1
                self._drop_header(frames_bad=False)
                continue
            frames.append(RadarFrame(body[2], body[3], body[6:]))
            self.stats.frames += 1
            del buf[:end]
        return frames

    def _drop_header(self, frames_bad: bool) -> None:
        # Skip only this header: a truncated frame may have swallowed the start of a good one.
        if frames_bad:
            self.stats.bad_frame += 1
        self.stats.skipped_bytes += 2
        del self._buf[:2]

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)
